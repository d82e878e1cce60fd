import type { TrainingMeasurement } from './measure-training';
import type { ThreadMeasurement } from './measure-threads';
import type { ModelKey } from './reference-models';

/** One model's results on the three backends; stock wasm may be a reason it cannot train. */
export interface ModelResult {
  key: ModelKey;
  title: string;
  engine: TrainingMeasurement;
  stockWasm: TrainingMeasurement | { cannotTrain: string };
  cpu?: TrainingMeasurement;
}

export interface BenchContext {
  date: string;
  machine: string;
  loadBefore: string;
  loadAfter: string;
  command: string;
  versions: string;
}

export const TARGETS = { mnistImagesPerSecond: 300, mnistTimesCpu: 400, backwardOverForward: 2.5 };

const f = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
export const backwardRatio = (m: TrainingMeasurement) => ((m.stepMedianMs ?? m.msPerStep) - m.forwardMs) / m.forwardMs;

function row(label: string, m: TrainingMeasurement, cpu?: TrainingMeasurement): string {
  const times = cpu ? `${f(m.imagesPerSecond / cpu.imagesPerSecond, 0)}×` : 'n/a';
  const steps = `${m.steps}`;
  return `| ${label} | ${f(m.imagesPerSecond, label === 'stock cpu' ? 2 : 0)} | ${f(m.msPerStep)} | ${f(m.forwardMs)} | ${f(backwardRatio(m), 2)} | ${f(m.gflops, 2)} | ${times} | ${steps} |`;
}

/** The whole report as Markdown (printed, and written into docs/benchmarks.md). */
export function formatReport(ctx: BenchContext, results: ModelResult[], threads?: ThreadMeasurement): string {
  const out: string[] = [];
  out.push(`Measured ${ctx.date} on ${ctx.machine}; ${ctx.versions}.`);
  out.push(
    `Load average before/after: ${ctx.loadBefore} / ${ctx.loadAfter} (2 cores; above ~1 means other work shared the machine).`,
  );
  out.push('', '```', ctx.command, '```', '');
  out.push(
    'Training steps, batch 32, Adam 1e-3. ms/step is the mean over the timed steps. bwd/fwd = (step − forward) / forward with the medians of both:',
    'forward = `model.predict` on the batch, timed after each timed step, so bursts of other work on the machine hit both sides alike.',
  );
  out.push('GFLOP/s counts useful work only: 3 × forward FLOPs from layer shapes (2 per multiply-add).', '');
  for (const r of results) {
    out.push(`### ${r.title}`, '');
    out.push('| backend | images/s | ms/step | forward ms | bwd/fwd | GFLOP/s | vs stock cpu | steps |');
    out.push('|---|---|---|---|---|---|---|---|');
    out.push(row('wasm + Trainyard kernels', r.engine, r.cpu));
    if ('cannotTrain' in r.stockWasm) out.push(`| stock wasm | cannot train: ${r.stockWasm.cannotTrain} | | | | | | |`);
    else out.push(row('stock wasm', r.stockWasm, r.cpu));
    if (r.cpu) out.push(row('stock cpu', r.cpu, r.cpu));
    const e = r.engine;
    out.push(
      '',
      `Ten most expensive kernels, ours, ms per step (of ${f(e.msPerStep)} ms; ${f(e.outsideKernelsMs ?? NaN)} ms outside kernels):`,
      '',
    );
    out.push('| kernel | ms/step | calls/step | share |', '|---|---|---|---|');
    for (const k of e.topKernels ?? [])
      out.push(`| ${k.name} | ${f(k.ms, 2)} | ${k.calls} | ${f((100 * k.ms) / e.msPerStep, 0)}% |`);
    if (e.innerKernels?.length) {
      out.push(
        '',
        `Inside composite kernels: ${e.innerKernels
          .slice(0, 5)
          .map((k) => `${k.name} ${f(k.ms, 2)}`)
          .join('; ')} (ms/step).`,
      );
    }
    const heap = e.wasmHeapMB ? `, wasm heap ${f(e.wasmHeapMB[0], 0)} → ${f(e.wasmHeapMB[1], 0)} MB` : '';
    out.push(
      '',
      `Memory over the ${e.steps} timed steps: ${e.tensorsAfterWarmup} → ${e.tensorsAtEnd} tensors, RSS ${f(e.rssAfterWarmupMB, 0)} → ${f(e.rssAtEndMB, 0)} MB${heap}.`,
      '',
    );
  }
  out.push(...targetLines(results));
  if (threads) out.push('', ...threadLines(threads));
  return out.join('\n');
}

// What would move each kernel, from the measurements behind the kernels (see libs/engine/README.md).
const HINTS: Record<string, string> = {
  Conv2DBackpropFilter:
    'the wasm SIMD kernel (4×8 register tiles on one core; wasm SIMD has no FMA without relaxed-simd); a second thread',
  Conv2DBackpropInput: 'XNNPACK convs per output phase, with a fresh (rotated) filter packed every call',
  Conv2D: 'the forward convs themselves (XNNPACK near its single-core rate); only more cores move it',
  MaxPoolGrad: 'the wasm SIMD kernel, memory-bound; pooling that records argmax in the forward pass',
  DepthwiseConv2dNativeBackpropFilter: 'the wasm SIMD kernel (multiplier 1; the JS pass otherwise)',
  DepthwiseConv2dNativeBackpropInput:
    'the wasm SIMD kernel gathered over the taps (multiplier 1; a depthwiseConv2d of zero-spread dy otherwise)',
  Sum: 'bias gradients by the wasm SIMD row sum (memory-bound, one pass over dy); fusing them into the dW kernels would save that pass',
};

function targetLines(results: ModelResult[]): string[] {
  const out = ['### Targets', ''];
  const mnist = results.find((r) => r.key === 'mnist-ae');
  const mark = (ok: boolean) => (ok ? 'met' : '**missed**');
  if (mnist) {
    const ips = mnist.engine.imagesPerSecond;
    out.push(
      `- MNIST autoencoder ≥ ${TARGETS.mnistImagesPerSecond} images/s: ${f(ips, 0)} — ${mark(ips >= TARGETS.mnistImagesPerSecond)}`,
    );
    if (mnist.cpu) {
      const x = ips / mnist.cpu.imagesPerSecond;
      out.push(
        `- MNIST autoencoder ≥ ${TARGETS.mnistTimesCpu}× stock cpu: ${f(x, 0)}× — ${mark(x >= TARGETS.mnistTimesCpu)}`,
      );
    }
  }
  for (const r of results) {
    const ratio = backwardRatio(r.engine);
    const ok = ratio <= TARGETS.backwardOverForward;
    let line = `- ${r.key}: backward ≤ ${TARGETS.backwardOverForward}× forward: ${f(ratio, 2)}× — ${mark(ok)}`;
    if (!ok) {
      const top = (r.engine.topKernels ?? [])
        .slice(0, 3)
        .map((k) => `${k.name} ${f((100 * k.ms) / r.engine.msPerStep, 0)}%`);
      line += `; bound by ${top.join(', ')} of the step (profile above)`;
      const hint = HINTS[r.engine.topKernels?.[0]?.name ?? ''];
      if (hint) line += `; what would move it: ${hint}`;
    }
    out.push(line);
  }
  return out;
}

function threadLines(t: ThreadMeasurement): string[] {
  const out = ['### Threads (MNIST autoencoder, each training thread its own worker_threads Worker)', ''];
  out.push(`- one training thread, single-threaded wasm: ${f(t.one, 0)} images/s`);
  out.push(
    `- two training threads at once (WORKER_CONCURRENCY=2): ${f(t.two[0], 0)} + ${f(t.two[1], 0)} = ${f(t.aggregate, 0)} images/s aggregate (${f(t.aggregate / t.one, 2)}× one)`,
  );
  if ('error' in t.threaded) out.push(`- threaded wasm build: did not run: ${t.threaded.error.split('\n')[0]}`);
  else
    out.push(
      `- one training thread on the threaded wasm build, ${t.threaded.threads} threads: ${f(t.threaded.imagesPerSecond, 0)} images/s (${f(t.threaded.imagesPerSecond / t.one, 2)}× one)`,
    );
  return out;
}
