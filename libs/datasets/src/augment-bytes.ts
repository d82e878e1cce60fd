import { IDENTITY } from './affine-transform';
import { affineTransformWasm } from './affine-transform-wasm';
import { type AugmentationParams, applyAugmentation, augmentationMatrix } from './augmentation';
import type { AugmentationSpec } from './augmentation.schema';
import type { ImageShape } from './image-decode';

/**
 * `applyAugmentation` of decoded uint8 pixels (the packed stream's): the same as dividing them by
 * 255 into floats and augmenting those. On the wasm SIMD kernel the division happens in the
 * kernel's memory (no float copy of the source in JS); otherwise, and for the identity map (a
 * copy), through `scratch` (length h·w·c) and `applyAugmentation`.
 */
export function applyAugmentationToBytes(
  pixels: Uint8Array,
  dst: Float32Array,
  dstOffset: number,
  shape: ImageShape,
  spec: AugmentationSpec,
  params: AugmentationParams,
  scratch: Float32Array,
): void {
  const m = augmentationMatrix(params);
  const identity = m.every((v, i) => v === IDENTITY[i]);
  const { fillMode, cval, rescale } = spec;
  if (!identity && affineTransformWasm(pixels, 0, dst, dstOffset, shape, m, fillMode, cval, params.brightness, rescale))
    return;
  for (let p = 0; p < scratch.length; p++) scratch[p] = pixels[p] / 255;
  applyAugmentation(scratch, 0, dst, dstOffset, shape, spec, params);
}
