import * as tf from '@tensorflow/tfjs';
import { forwardFlopsPerImage, TRAINING_STEP_FORWARD_MULTIPLE } from './flops';
import { KernelStat, KernelTimer } from './kernel-timer';
import { buildReferenceModel, ModelKey } from './reference-models';

export interface TrainingMeasurement {
  model: ModelKey;
  title: string;
  backend: string;
  batch: number;
  steps: number;
  msPerStep: number;
  imagesPerSecond: number;
  /** model.predict on the same batch: the forward pass alone. */
  forwardMs: number;
  /** Median of the timed steps (msPerStep is their mean): what bwd/fwd uses. */
  stepMedianMs: number;
  /** Useful training FLOPs per step (3× forward, from layer shapes) over the step time. */
  gflops: number;
  loss: number;
  /** Live tensors after the second step and after the last: Adam's state exists from step 1. */
  tensorsAfterWarmup: number;
  tensorsAtEnd: number;
  /** Resident set size (MB) after warm-up and after the timed steps: growth would be a leak. */
  rssAfterWarmupMB: number;
  rssAtEndMB: number;
  /** The wasm backend's linear memory (MB) after warm-up and at the end: it only grows, so a leak there shows. */
  wasmHeapMB?: [number, number];
  /** Outermost kernels over the profiled steps (ms per step), when profiled. */
  topKernels?: KernelStat[];
  innerKernels?: KernelStat[];
  /** Per step: time outside any kernel (layers, tape, optimizer bookkeeping in JS). */
  outsideKernelsMs?: number;
}

export interface MeasureOptions {
  steps: number;
  warmup: number;
  batch: number;
  /** Steps run again under the kernel timer (0: none); timed apart so wrapping costs no rate. */
  profileSteps: number;
}

function rssMB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

function wasmHeapMB(): number | undefined {
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8;
  return heap ? heap.length / 2 ** 20 : undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Trains one reference model with Adam for a fixed number of steps on the active backend.
 * Throws what the backend throws (e.g. a missing kernel) so callers can report it.
 */
export async function measureTraining(key: ModelKey, opts: MeasureOptions): Promise<TrainingMeasurement> {
  const backend = tf.getBackend();
  const ref = buildReferenceModel(key);
  const optimizer = tf.train.adam(1e-3);
  ref.model.compile({ optimizer, loss: ref.loss });
  const { x, y } = ref.batch(opts.batch);
  try {
    let loss = NaN;
    const step = async () => (loss = (await ref.model.trainOnBatch(x, y)) as number);
    // Warm-up pays for XNNPACK operator creation, weight packing caches and the JIT.
    for (let i = 0; i < opts.warmup; i++) await step();
    const tensorsAfterWarmup = tf.memory().numTensors;
    const rssAfterWarmupMB = rssMB();
    const heapAfterWarmup = wasmHeapMB();
    // Each timed step is followed by one timed forward pass (outside the step's time), so that
    // bwd/fwd compares medians taken over the same stretch: on a shared machine a burst of other
    // work then inflates neither side alone (a separate run of 5 forwards after the steps did).
    const stepTimes: number[] = [];
    const forwards: number[] = [];
    for (let i = 0; i < opts.steps; i++) {
      const t0 = performance.now();
      await step();
      stepTimes.push(performance.now() - t0);
      const f0 = performance.now();
      const out = ref.model.predict(x) as tf.Tensor;
      await out.data();
      out.dispose();
      forwards.push(performance.now() - f0);
    }
    const msPerStep = stepTimes.reduce((a, b) => a + b, 0) / opts.steps;
    const tensorsAtEnd = tf.memory().numTensors;
    const rssAtEndMB = rssMB();
    const heapAtEnd = wasmHeapMB();

    const flopsPerStep = forwardFlopsPerImage(ref.model) * TRAINING_STEP_FORWARD_MULTIPLE * opts.batch;
    const m: TrainingMeasurement = {
      model: key,
      title: ref.title,
      backend,
      batch: opts.batch,
      steps: opts.steps,
      msPerStep,
      imagesPerSecond: (opts.batch * 1000) / msPerStep,
      forwardMs: median(forwards),
      stepMedianMs: median(stepTimes),
      gflops: flopsPerStep / msPerStep / 1e6,
      loss,
      tensorsAfterWarmup,
      tensorsAtEnd,
      rssAfterWarmupMB,
      rssAtEndMB,
      wasmHeapMB: heapAfterWarmup !== undefined && heapAtEnd !== undefined ? [heapAfterWarmup, heapAtEnd] : undefined,
    };
    if (opts.profileSteps > 0) {
      const timer = new KernelTimer(backend);
      timer.start();
      try {
        const p0 = performance.now();
        for (let i = 0; i < opts.profileSteps; i++) await step();
        const profiledMs = (performance.now() - p0) / opts.profileSteps;
        const perStep = (s: KernelStat) => ({ ...s, ms: s.ms / opts.profileSteps, calls: s.calls / opts.profileSteps });
        m.topKernels = timer.top(10).map(perStep);
        m.innerKernels = timer.topInner(8).map(perStep);
        m.outsideKernelsMs = profiledMs - timer.totalMs() / opts.profileSteps;
      } finally {
        timer.stop();
      }
    }
    return m;
  } finally {
    tf.dispose([x, y]);
    ref.model.dispose();
    optimizer.dispose();
  }
}
