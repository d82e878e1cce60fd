import { applyAugmentation, augmentationRandom, drawAugmentation } from './augmentation';
import { type AugmentationSpec, isIdentityAugmentation } from './augmentation.schema';
import type { ImageShape } from './image-decode';
import { deriveSeed, mulberry32, permutation } from './prng';

/** What a batch pipeline reads: one split's images in memory, with their shape. */
export interface BatchSource {
  /** Row-major `[count, h, w, c]`. Backed by a SharedArrayBuffer, threads read it without a copy. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
  imageShape: [number, number, number];
}

export interface Batch {
  /** `[count, h, w, c]` row-major. */
  x: Float32Array;
  y: Int32Array;
  count: number;
  epoch: number;
  /** 0-based step within the epoch. */
  step: number;
}

/**
 * The order of the images in a 0-based epoch. Same stream as libs/training's `epochOrder`, so a
 * loop that switches to the pipeline sees the same batches for the same seed.
 */
export function pipelineEpochOrder(count: number, seed: number, epoch: number): Int32Array {
  return permutation(count, mulberry32(deriveSeed(seed, 1000 + epoch)));
}

/** The augmentation seed of an epoch: image at position p of the epoch uses draw p of it. */
export function epochAugmentationSeed(seed: number, epoch: number): number {
  return deriveSeed(seed, 2000 + epoch);
}

/**
 * Gathers images `indices` into one batch and augments them. Image i of the batch uses draw
 * `firstDraw + i` of `augmentationSeed`: the result depends on the epoch position only, not on
 * which thread assembled it.
 */
export function assembleBatch(
  source: Pick<BatchSource, 'images' | 'labels'>,
  shape: ImageShape,
  indices: ArrayLike<number>,
  augmentation: AugmentationSpec | null,
  augmentationSeed: number,
  firstDraw: number,
): { x: Float32Array; y: Int32Array } {
  const length = shape[0] * shape[1] * shape[2];
  const x = new Float32Array(indices.length * length);
  const y = new Int32Array(indices.length);
  const augment = augmentation !== null && !isIdentityAugmentation(augmentation);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i];
    y[i] = source.labels[from];
    if (!augment) {
      x.set(source.images.subarray(from * length, (from + 1) * length), i * length);
      continue;
    }
    const params = drawAugmentation(augmentation, shape, augmentationRandom(augmentationSeed, firstDraw + i));
    applyAugmentation(source.images, from * length, x, i * length, shape, augmentation, params);
  }
  return { x, y };
}
