// npm run bench:engine — trains the reference models for a fixed number of steps on our
// engine (wasm + Trainyard kernels), stock wasm and stock cpu; prints images/s, ms per step,
// forward vs step time, GFLOP/s, the ratio to cpu, the top kernels and the thread scaling,
// and writes the report into docs/benchmarks.md (Engine section).
//   node dist/tools/bench/engine/bench-engine.js [--steps 20] [--cpu-steps 2]
//     [--models mnist-ae,finetune,rgb-ae,mobilenet] [--no-threads] [--no-doc]
//     [--no-simd] (our kernels without the wasm SIMD module: the previous paths, for before/after)
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import os from 'node:os';
import { resolve } from 'node:path';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels, useSimdKernels } from '@trainyard/engine';
import { writeEngineSection } from './benchmarks-doc';
import { formatReport, ModelResult } from './engine-report';
import { measureThreads, ThreadMeasurement } from './measure-threads';
import { measureTraining, MeasureOptions, TrainingMeasurement } from './measure-training';
import { MODEL_KEYS, ModelKey } from './reference-models';

const BATCH = 32;
const argv = process.argv.slice(2);
const has = (name: string) => argv.includes(`--${name}`);
function flag(name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/**
 * Stock wasm: tfjs-backend-wasm's own kernels only. The first missing kernel ends the step;
 * that is the answer ("cannot train: missing kernel X").
 */
async function stockWasm(key: ModelKey, opts: MeasureOptions): Promise<TrainingMeasurement | { cannotTrain: string }> {
  unregisterWasmTrainingKernels();
  try {
    return await measureTraining(key, opts);
  } catch (err) {
    const missing = /Kernel '(\w+)' not registered for backend 'wasm'/.exec((err as Error).message);
    return { cannotTrain: missing ? `missing kernel ${missing[1]}` : (err as Error).message.split('\n')[0] };
  } finally {
    registerWasmTrainingKernels();
  }
}

async function main(): Promise<void> {
  const steps = Number(flag('steps', '20'));
  const cpuSteps = Number(flag('cpu-steps', '2'));
  const models = flag('models', MODEL_KEYS.join(',')).split(',') as ModelKey[];
  const loadBefore = load();
  registerWasmTrainingKernels();
  if (has('no-simd')) useSimdKernels(false);
  await tf.setBackend('wasm');
  // The first model measured would pay for process warm-up (JIT, heap growth); a throwaway run takes it.
  await measureTraining('mnist-ae', { steps: 1, warmup: 2, batch: BATCH, profileSteps: 0 });

  const results: ModelResult[] = [];
  for (const key of models) {
    await tf.setBackend('wasm');
    log(`${key}: wasm + our kernels (${steps} steps)…`);
    const engine = await measureTraining(key, { steps, warmup: 3, batch: BATCH, profileSteps: 5 });
    log(`  ${engine.imagesPerSecond.toFixed(0)} images/s; stock wasm…`);
    const stock = await stockWasm(key, { steps: Math.min(steps, 5), warmup: 1, batch: BATCH, profileSteps: 0 });
    results.push({ key, title: engine.title, engine, stockWasm: stock });
  }
  if (cpuSteps > 0) {
    await tf.setBackend('cpu');
    for (const r of results) {
      log(`${r.key}: stock cpu (${cpuSteps} steps, no warm-up)…`);
      r.cpu = await measureTraining(r.key, { steps: cpuSteps, warmup: 0, batch: BATCH, profileSteps: 0 });
    }
  }
  let threads: ThreadMeasurement | undefined;
  if (!has('no-threads')) {
    log('threads: 1 vs 2 training threads, and the threaded wasm build…');
    threads = await measureThreads({ model: 'mnist-ae', steps, warmup: 3, batch: BATCH });
  }

  const cpu = os.cpus();
  const report = formatReport(
    {
      date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
      machine: `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
      loadBefore,
      loadAfter: load(),
      command: `npm run bench:engine${argv.length ? ' -- ' + argv.join(' ') : ''}`,
      versions: `Node ${process.version}, tfjs ${tf.version.tfjs}`,
    },
    results,
    threads,
  );
  process.stdout.write(report + '\n');
  if (!has('no-doc')) {
    const path = resolve(__dirname, '../../../../docs/benchmarks.md');
    writeEngineSection(path, report);
    log(`wrote ${path}`);
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
