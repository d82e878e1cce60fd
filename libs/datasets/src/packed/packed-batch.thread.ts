import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import type { AugmentationSpec } from '../augmentation.schema';
import type { ResizeFit } from '../image-decode';
import { decodeBatch, type DecodedBatch, type EncodedBatch } from './packed-batch';

export interface PackedThreadData {
  imageShape: [number, number, number];
  fit: ResizeFit;
  augmentation: AugmentationSpec | null;
  raw: boolean;
}

export type PackedRequest = { id: number; batch: EncodedBatch };
export type PackedReply = ({ id: number } & DecodedBatch) | { id: number; error: string };

const data = workerData as PackedThreadData;
// Every image is decoded once per epoch and never again soon: libvips's operation cache (50 MB by
// default) would only grow with the dataset until its cap.
sharp.cache(false);
const port = parentPort;
if (!port) throw new Error('packed-batch.thread must run in a worker thread');

port.on('message', (request: PackedRequest) => {
  decodeBatch(request.batch, data.imageShape, data.fit, data.augmentation, data.raw).then(
    ({ x, y, bad }) =>
      // Transferred, not copied: the batch's memory moves to the training thread.
      port.postMessage({ id: request.id, x, y, bad } satisfies PackedReply, [
        x.buffer as ArrayBuffer,
        y.buffer as ArrayBuffer,
      ]),
    (error: Error) => port.postMessage({ id: request.id, error: error.stack ?? String(error) } satisfies PackedReply),
  );
});
