// Entry point for a worker_threads Worker (compiled to dist/): trains one reference model on
// wasm with our kernels (optionally the threaded wasm build) and posts the measurement back.
// The thread benchmark runs one or two of these at once, as a worker process with
// WORKER_CONCURRENCY=2 would run two training jobs.
import * as tf from '@tensorflow/tfjs';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { initEngine, registerWasmTrainingKernels } from '@trainyard/engine';
import { measureTraining } from './measure-training';
import { ModelKey } from './reference-models';
import { initThreadedWasm } from './wasm-threads';

export interface ThreadJob {
  model: ModelKey;
  steps: number;
  warmup: number;
  batch: number;
  /** > 0: load the threaded wasm build with this many threads; 0: the stock single-threaded one. */
  wasmThreads: number;
}

export type ThreadReply = { imagesPerSecond: number; threads: number } | { error: string };

async function main(): Promise<void> {
  if (isMainThread || !parentPort) throw new Error('train-in-thread runs inside a worker thread');
  const job = workerData as ThreadJob;
  let threads = 1;
  if (job.wasmThreads > 0) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- registers the backend before our kernels replace its own
    require('@tensorflow/tfjs-backend-wasm');
    registerWasmTrainingKernels();
    threads = await initThreadedWasm(job.wasmThreads);
  } else {
    await initEngine({ backend: 'wasm' });
  }
  if (tf.getBackend() !== 'wasm') throw new Error(`expected wasm, got ${tf.getBackend()}`);
  const m = await measureTraining(job.model, {
    steps: job.steps,
    warmup: job.warmup,
    batch: job.batch,
    profileSteps: 0,
  });
  parentPort.postMessage({ imagesPerSecond: m.imagesPerSecond, threads } satisfies ThreadReply);
}

main().catch((err) => parentPort?.postMessage({ error: (err as Error).stack ?? String(err) } satisfies ThreadReply));
