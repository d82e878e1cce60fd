import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AugmentationSpec } from './augmentation.schema';
import {
  assembleBatch,
  type Batch,
  type BatchSource,
  epochAugmentationSeed,
  pipelineEpochOrder,
} from './batch-assembly';
import type { PipelineReply, PipelineRequest, PipelineThreadData } from './batch-pipeline.thread';

// Which kernel augments (the wasm SIMD one, or the JS pass where it does not load), and the switch
// the specs use: public with the pipelines that run it.
export { augmentationKernel, type AugmentationKernelInfo } from './affine-transform-wasm';

export interface BatchPipelineOptions {
  dataset: BatchSource;
  batchSize: number;
  /** null (or absent) serves the images as they are. */
  augmentation?: AugmentationSpec | null;
  seed: number;
  /** Batches requested ahead of the consumer (in flight or ready); bounds memory. Default 4. */
  prefetch?: number;
  /** Worker threads assembling batches; 0 assembles on the caller's thread (no read-ahead). Default 1. */
  threads?: number;
}

export interface BatchPipeline {
  readonly stepsPerEpoch: number;
  /**
   * Batches of epochs [from, to) in order (to defaults to from + 1); read-ahead crosses epoch
   * boundaries, so the first batch of the next epoch is ready when the last one is consumed.
   * One iteration at a time; breaking out of it drops its read-ahead. `firstStep` starts epoch
   * `from` at that batch (a resumed run's `nextBatch`) without making the batches before it.
   */
  batches(from: number, to?: number, firstStep?: number): AsyncGenerator<Batch>;
  /**
   * Batches requested beyond the one being awaited, not yet handed to the consumer (≤ prefetch).
   * Read when the training step asks for its next batch: 0 then means the step had to wait.
   */
  ahead(): number;
  /** Stops the threads; pending batches reject. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * The compiled thread entry. Under Jest this module runs from its TypeScript source, and a
 * worker cannot load .ts, so the copy built by `node tools/build.mjs libs` into dist/ is used.
 */
export function batchPipelineThreadFile(): string {
  if (!__filename.endsWith('.ts')) return join(__dirname, 'batch-pipeline.thread.js');
  const built = resolve(__dirname, '../../../dist/libs/datasets/src/batch-pipeline.thread.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`node tools/build.mjs libs\` first`);
  return built;
}

/** The split's images in shared memory: passed to threads by reference, whatever their number. */
function shared<T extends Float32Array | Int32Array>(array: T, make: (buffer: SharedArrayBuffer) => T): T {
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const copy = make(new SharedArrayBuffer(array.byteLength));
  copy.set(array);
  return copy;
}

interface Pending {
  resolve(batch: { x: Float32Array; y: Int32Array }): void;
  reject(error: Error): void;
}

/**
 * Serves shuffled (and augmented) batches of a split, assembled ahead of the training step on
 * worker threads, so gathering and per-pixel augmentation never run on the thread that trains.
 * The order is a seeded permutation per epoch and image p of epoch e is augmented with draw p
 * of (seed, e): the same seed gives the same batches for any number of threads or prefetch depth.
 */
export function createBatchPipeline(opts: BatchPipelineOptions): BatchPipeline {
  const { dataset, batchSize, seed } = opts;
  const augmentation = opts.augmentation ?? null;
  const prefetch = Math.max(1, opts.prefetch ?? 4);
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  if (dataset.count < 1) throw new Error('the batch pipeline needs at least one image');
  const stepsPerEpoch = Math.ceil(dataset.count / batchSize);

  const pending = new Map<number, Pending>();
  let nextId = 0;
  /** The read-ahead of the iteration in progress. */
  let live: unknown[] | undefined;
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure ??= error;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
    // A broken pipeline is of no use: stop every thread. terminate() holds the process until each
    // has exited (unref'ing here would let it exit with a terminate() still unresolved).
    return Promise.all(workers.map((w) => w.terminate())).then(() => undefined);
  };

  const workers: Worker[] = [];
  /**
   * Idle threads must not keep a process alive that has finished training, but while a batch is
   * awaited they must: an unref'd worker is all that would keep the event loop from exiting.
   */
  const holdProcess = (hold: boolean) => workers.forEach((w) => (hold ? w.ref() : w.unref()));
  if (threads > 0) {
    const data: PipelineThreadData = {
      images: shared(dataset.images, (b) => new Float32Array(b)),
      labels: shared(dataset.labels, (b) => new Int32Array(b)),
      imageShape: dataset.imageShape,
      augmentation,
    };
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(batchPipelineThreadFile(), { workerData: data, name: `batch-pipeline-${i}` });
      worker.on('message', (reply: PipelineReply) => {
        const p = pending.get(reply.id);
        if (!p) return; // a batch nobody waits for any more (the consumer broke out)
        pending.delete(reply.id);
        if (pending.size === 0) holdProcess(false);
        if ('error' in reply) p.reject(new Error(`batch pipeline thread failed: ${reply.error}`));
        else p.resolve(reply);
      });
      worker.on('error', (error) => void failAll(new Error(`batch pipeline thread ${i} crashed: ${error.message}`)));
      worker.on('exit', (code) => void failAll(new Error(`batch pipeline thread ${i} exited (code ${code})`)));
      workers.push(worker);
    }
    holdProcess(false);
  }

  /** Starts assembling (epoch, step); resolves when it is ready. */
  function request(epoch: number, step: number, order: Int32Array): Promise<{ x: Float32Array; y: Int32Array }> {
    const start = step * batchSize;
    const indices = order.slice(start, Math.min(start + batchSize, dataset.count));
    const augmentationSeed = epochAugmentationSeed(seed, epoch);
    if (workers.length === 0) {
      return Promise.resolve(
        assembleBatch(dataset, dataset.imageShape, indices, augmentation, augmentationSeed, start),
      );
    }
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise((resolveBatch, reject) => {
      if (pending.size === 0) holdProcess(true);
      pending.set(id, { resolve: resolveBatch, reject });
      const message: PipelineRequest = { id, indices, augmentationSeed, firstDraw: start };
      // Round robin: batches are the same size, so the threads stay evenly loaded.
      workers[id % workers.length].postMessage(message, [indices.buffer]);
    });
  }

  async function* batches(from: number, to = from + 1, firstStep = 0): AsyncGenerator<Batch> {
    const orders = new Map<number, Int32Array>();
    const orderOf = (epoch: number) => {
      let order = orders.get(epoch);
      if (!order) orders.set(epoch, (order = pipelineEpochOrder(dataset.count, seed, epoch)));
      return order;
    };
    const total = (to - from) * stepsPerEpoch;
    const queue: { epoch: number; step: number; ready: Promise<{ x: Float32Array; y: Int32Array }> }[] = [];
    let issued = Math.min(firstStep, stepsPerEpoch);
    const fill = () => {
      while (issued < total && queue.length < (workers.length === 0 ? 1 : prefetch)) {
        const epoch = from + Math.floor(issued / stepsPerEpoch);
        const step = issued % stepsPerEpoch;
        const ready = request(epoch, step, orderOf(epoch));
        ready.catch(() => undefined); // observed when its turn comes; not an unhandled rejection before
        queue.push({ epoch, step, ready });
        issued++;
        if (step === stepsPerEpoch - 1) orders.delete(epoch); // every batch of it is requested
      }
    };
    live = queue;
    try {
      fill();
      while (queue.length > 0) {
        const head = queue.shift() as (typeof queue)[number];
        const { x, y } = await head.ready;
        fill(); // keep `prefetch` batches in the making while the consumer trains on this one
        yield { x, y, count: y.length, epoch: head.epoch, step: head.step };
      }
    } finally {
      if (live === queue) live = undefined; // its read-ahead is dropped (the consumer broke out, or a batch failed)
    }
  }

  let closing: Promise<void> | undefined;
  return {
    stepsPerEpoch,
    batches,
    ahead: () => live?.length ?? 0,
    close() {
      closing ??= failAll(new Error('the batch pipeline was closed'));
      return closing;
    },
  };
}
