import { parentPort, workerData } from 'node:worker_threads';
import type { AugmentationSpec } from './augmentation.schema';
import { assembleBatch } from './batch-assembly';

/** Sent once at start: the split is shared memory, so every thread reads the same copy. */
export interface PipelineThreadData {
  images: Float32Array;
  labels: Int32Array;
  imageShape: [number, number, number];
  augmentation: AugmentationSpec | null;
}

export type PipelineRequest = { id: number; indices: Int32Array; augmentationSeed: number; firstDraw: number };
export type PipelineReply = { id: number; x: Float32Array; y: Int32Array } | { id: number; error: string };

const data = workerData as PipelineThreadData;
const port = parentPort;
if (!port) throw new Error('batch-pipeline.thread must run in a worker thread');

port.on('message', (request: PipelineRequest) => {
  try {
    const { x, y } = assembleBatch(
      data,
      data.imageShape,
      request.indices,
      data.augmentation,
      request.augmentationSeed,
      request.firstDraw,
    );
    // Transferred, not copied: the batch's memory moves to the training thread.
    port.postMessage({ id: request.id, x, y } satisfies PipelineReply, [
      x.buffer as ArrayBuffer,
      y.buffer as ArrayBuffer,
    ]);
  } catch (error) {
    port.postMessage({ id: request.id, error: (error as Error).stack ?? String(error) } satisfies PipelineReply);
  }
});
