import {
  type Affine,
  compose,
  flipInverse,
  IDENTITY,
  rotationInverse,
  shearInverse,
  shiftInverse,
  zoomInverse,
} from './affine-transform';
import { affineTransformFast } from './affine-transform-fast';
import type { AugmentationSpec } from './augmentation.schema';
import type { ImageShape } from './image-decode';
import { deriveSeed, mulberry32, type Random } from './prng';

/** The random draws for one image: what a grid or a log can show, and what replays it exactly. */
export interface AugmentationParams {
  rotation: number;
  /** Pixels right / down. */
  shiftX: number;
  shiftY: number;
  shear: number;
  /** Keras zoom factors (< 1 zooms in). */
  zoomX: number;
  zoomY: number;
  flipHorizontal: boolean;
  flipVertical: boolean;
  brightness: number;
}

const uniform = (random: Random, lo: number, hi: number) => lo + (hi - lo) * random();
const shiftPixels = (range: number, size: number) => (range < 1 ? range * size : range);

/**
 * Draws one image's parameters. Every draw happens whatever the spec enables, in a fixed order, so
 * turning one transform on does not change the values the others get for the same seed.
 */
export function drawAugmentation(spec: AugmentationSpec, shape: ImageShape, random: Random): AugmentationParams {
  const [h, w] = shape;
  const zoom = Array.isArray(spec.zoomRange) ? spec.zoomRange : [1 - spec.zoomRange, 1 + spec.zoomRange];
  const brightness = spec.brightnessRange ?? [1, 1];
  const rotation = uniform(random, -spec.rotationRange, spec.rotationRange);
  const shiftX = uniform(random, -1, 1) * shiftPixels(spec.widthShiftRange, w);
  const shiftY = uniform(random, -1, 1) * shiftPixels(spec.heightShiftRange, h);
  const shear = uniform(random, -spec.shearRange, spec.shearRange);
  const zoomX = uniform(random, zoom[0], zoom[1]);
  const zoomY = uniform(random, zoom[0], zoom[1]);
  const flipH = random() < 0.5;
  const flipV = random() < 0.5;
  return {
    rotation,
    shiftX,
    shiftY,
    shear,
    zoomX,
    zoomY,
    flipHorizontal: spec.horizontalFlip && flipH,
    flipVertical: spec.verticalFlip && flipV,
    brightness: uniform(random, brightness[0], brightness[1]),
  };
}

/**
 * The inverse map of the whole geometric part. Forward, the content is zoomed, sheared, rotated,
 * shifted, then flipped (Keras's order: its affine matrix, then flips); the inverse undoes them in
 * reverse. One resampling pass for all of them keeps it fast and blurs only once.
 */
export function augmentationMatrix(p: AugmentationParams): Affine {
  let m = flipInverse(p.flipHorizontal, p.flipVertical);
  m = compose(shiftInverse(p.shiftX, p.shiftY), m);
  m = compose(rotationInverse(p.rotation), m);
  m = compose(shearInverse(p.shear), m);
  return compose(zoomInverse(1 / p.zoomX, 1 / p.zoomY), m);
}

function isIdentity(m: Affine): boolean {
  return m.every((v, i) => v === IDENTITY[i]);
}

/** Multiplies pixels by `factor`, clipped to [0, 1] (as PIL's brightness enhancer clips in Keras). */
export function scaleBrightness(pixels: Float32Array, offset: number, length: number, factor: number): void {
  if (factor === 1) return;
  for (let i = offset; i < offset + length; i++) pixels[i] = Math.min(1, Math.max(0, pixels[i] * factor));
}

/** Multiplies pixels by `factor`, unclipped. */
export function rescale(pixels: Float32Array, offset: number, length: number, factor: number): void {
  if (factor === 1) return;
  for (let i = offset; i < offset + length; i++) pixels[i] *= factor;
}

/** Augments one `[h, w, c]` image from `src` at `srcOffset` into `dst` at `dstOffset` with drawn parameters. */
export function applyAugmentation(
  src: Float32Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  shape: ImageShape,
  spec: AugmentationSpec,
  params: AugmentationParams,
): void {
  const length = shape[0] * shape[1] * shape[2];
  const m = augmentationMatrix(params);
  if (isIdentity(m)) {
    dst.set(src.subarray(srcOffset, srcOffset + length), dstOffset);
    scaleBrightness(dst, dstOffset, length, params.brightness);
    rescale(dst, dstOffset, length, spec.rescale);
    return;
  }
  // One pass: resampling, brightness and rescale fused (affineTransform + the two passes, faster).
  affineTransformFast(src, srcOffset, dst, dstOffset, shape, m, spec.fillMode, spec.cval, {
    brightness: params.brightness,
    rescale: spec.rescale,
  });
}

/**
 * The random stream of one image: a function of the seed and a number that names the image's draw
 * (e.g. its position in the epoch), never of the thread or the batch it lands in, so the same seed
 * gives the same augmented images however the work is spread.
 */
export function augmentationRandom(seed: number, draw: number): Random {
  return mulberry32(deriveSeed(seed, draw));
}

/** Augments `count` images (row-major `[count, h, w, c]`) into a new array; image i uses draw `firstDraw + i`. */
export function augmentBatch(
  images: Float32Array,
  count: number,
  shape: ImageShape,
  spec: AugmentationSpec,
  seed: number,
  firstDraw = 0,
): Float32Array {
  const length = shape[0] * shape[1] * shape[2];
  const out = new Float32Array(count * length);
  for (let i = 0; i < count; i++) {
    const params = drawAugmentation(spec, shape, augmentationRandom(seed, firstDraw + i));
    applyAugmentation(images, i * length, out, i * length, shape, spec, params);
  }
  return out;
}
