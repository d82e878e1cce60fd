import * as tf from '@tensorflow/tfjs';
import { deriveSeed, type ImageSplit, mulberry32, permutation } from '@trainyard/datasets';

/** The order of the training images in a 0-based epoch: a fresh seeded permutation each epoch. */
export function epochOrder(count: number, seed: number, epochIndex: number): Int32Array {
  return permutation(count, mulberry32(deriveSeed(seed, 1000 + epochIndex)));
}

export function stepsPerEpoch(count: number, batchSize: number): number {
  return Math.ceil(count / batchSize);
}

/** Images `indices` of a split as a `[n, h, w, c]` tensor, and their labels. */
export function gatherBatch(
  split: ImageSplit,
  indices: ArrayLike<number>,
  imageShape: readonly [number, number, number],
): { x: tf.Tensor4D; labels: Int32Array } {
  const pixels = imageShape[0] * imageShape[1] * imageShape[2];
  const data = new Float32Array(indices.length * pixels);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i];
    data.set(split.images.subarray(from * pixels, (from + 1) * pixels), i * pixels);
    labels[i] = split.labels[from];
  }
  return { x: tf.tensor4d(data, [indices.length, ...imageShape]), labels };
}

/** Consecutive images [start, end) of a split (evaluation order). */
export function sliceBatch(
  split: ImageSplit,
  start: number,
  end: number,
  imageShape: readonly [number, number, number],
): { x: tf.Tensor4D; labels: Int32Array } {
  const pixels = imageShape[0] * imageShape[1] * imageShape[2];
  return {
    x: tf.tensor4d(split.images.subarray(start * pixels, end * pixels), [end - start, ...imageShape]),
    labels: split.labels.subarray(start, end),
  };
}
