import { foldIndex as fold, type Affine } from './affine-transform';
import type { FillMode } from './augmentation.schema';
import { affineTransformWasm } from './affine-transform-wasm';
import type { ImageShape } from './image-decode';

/** Bilinear interpolation in the reference's operation order (so results match it to the last bit where it can). */
function bilinear(p00: number, p01: number, p10: number, p11: number, fx: number, fy: number): number {
  const top = p00 + (p01 - p00) * fx;
  const bottom = p10 + (p11 - p10) * fx;
  return top + (bottom - top) * fy;
}

/** What happens to each output value after resampling: brightness (clipped to [0, 1]), then rescale. */
export interface PixelScaling {
  brightness: number;
  rescale: number;
}

/**
 * `affineTransform` (bilinear, scipy's fill modes) with the brightness and rescale passes fused in,
 * on the wasm SIMD kernel (libs/datasets/assembly/affine-resample.as, loaded by
 * affine-transform-wasm.ts) when it loads, else on the JS pass `affineTransformJs`;
 * `augmentationKernel()` says which. The kernel advances the source positions in 32.32 fixed
 * point (within ~1e-7 pixel of the JS pass's float64) and interpolates interior pixels in float32,
 * the JS pass in float64: they differ by float32 rounding (affine-transform-fast.spec.ts compares
 * them, and both with the reference). About 3× the JS pass's speed at 224×224×3.
 */
export function affineTransformFast(
  src: Float32Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  shape: ImageShape,
  m: Affine,
  fill: FillMode,
  cval: number,
  scaling: PixelScaling = { brightness: 1, rescale: 1 },
): void {
  if (affineTransformWasm(src, srcOffset, dst, dstOffset, shape, m, fill, cval, scaling.brightness, scaling.rescale))
    return;
  affineTransformJs(src, srcOffset, dst, dstOffset, shape, m, fill, cval, scaling);
}

/**
 * `affineTransform` (bilinear, scipy's fill modes), rewritten for speed, with the brightness and
 * rescale passes fused in: the source coordinates advance by adding the map's column per pixel
 * instead of a matrix product, pixels whose four neighbours lie inside skip the fill-mode folding
 * (all but a border at most a pixel wide for small transforms), and 3-channel images are unrolled.
 * About 4× the reference's speed at 224×224×3; results equal to it within float rounding
 * (affine-transform-fast.spec.ts compares them for every fill mode). The fallback where the wasm
 * SIMD kernel does not load.
 */
export function affineTransformJs(
  src: Float32Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  shape: ImageShape,
  m: Affine,
  fill: FillMode,
  cval: number,
  scaling: PixelScaling = { brightness: 1, rescale: 1 },
): void {
  const [h, w, ch] = shape;
  const [a, b, c, d, e, f] = m;
  const xc = (w - 1) / 2;
  const yc = (h - 1) / 2;
  const bright = scaling.brightness;
  const scale = scaling.rescale;
  const clip = bright !== 1;
  const rowStride = w * ch;
  let out = dstOffset;
  for (let y = 0; y < h; y++) {
    const cy = y - yc;
    // Source position of pixel (0, y); each step right adds (a, d).
    let xs = -a * xc + b * cy + c + xc;
    let ys = -d * xc + e * cy + f + yc;
    for (let x = 0; x < w; x++, xs += a, ys += d, out += ch) {
      // floor without a call: truncate, then step down for negatives (coordinates are far below 2³¹).
      let x0 = xs | 0;
      if (xs < x0) x0--;
      let y0 = ys | 0;
      if (ys < y0) y0--;
      const fx = xs - x0;
      const fy = ys - y0;
      if (x0 >= 0 && y0 >= 0 && x0 < w - 1 && y0 < h - 1) {
        const i00 = srcOffset + y0 * rowStride + x0 * ch;
        const i10 = i00 + rowStride;
        if (ch === 3) {
          const r = bilinear(src[i00], src[i00 + 3], src[i10], src[i10 + 3], fx, fy);
          const g = bilinear(src[i00 + 1], src[i00 + 4], src[i10 + 1], src[i10 + 4], fx, fy);
          const bl = bilinear(src[i00 + 2], src[i00 + 5], src[i10 + 2], src[i10 + 5], fx, fy);
          if (clip) {
            dst[out] = Math.min(1, Math.max(0, r * bright)) * scale;
            dst[out + 1] = Math.min(1, Math.max(0, g * bright)) * scale;
            dst[out + 2] = Math.min(1, Math.max(0, bl * bright)) * scale;
          } else {
            dst[out] = r * scale;
            dst[out + 1] = g * scale;
            dst[out + 2] = bl * scale;
          }
        } else {
          for (let k = 0; k < ch; k++) {
            const p00 = src[i00 + k];
            const p01 = src[i00 + ch + k];
            const p10 = src[i10 + k];
            const p11 = src[i10 + ch + k];
            const top = p00 + (p01 - p00) * fx;
            const bottom = p10 + (p11 - p10) * fx;
            let v = top + (bottom - top) * fy;
            if (clip) v = Math.min(1, Math.max(0, v * bright));
            dst[out + k] = v * scale;
          }
        }
        continue;
      }
      // The border. 'nearest' (Keras's default) clamps inline; far outside, 'constant' is just cval.
      if (fill === 'constant' && (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h)) {
        const v = clip ? Math.min(1, Math.max(0, cval * bright)) * scale : cval * scale;
        for (let k = 0; k < ch; k++) dst[out + k] = v;
        continue;
      }
      const nearest = fill === 'nearest';
      const xa = nearest ? (x0 < 0 ? 0 : x0 >= w ? w - 1 : x0) : fold(x0, w, fill);
      const xb = nearest ? (x0 + 1 < 0 ? 0 : x0 + 1 >= w ? w - 1 : x0 + 1) : fold(x0 + 1, w, fill);
      const ya = nearest ? (y0 < 0 ? 0 : y0 >= h ? h - 1 : y0) : fold(y0, h, fill);
      const yb = nearest ? (y0 + 1 < 0 ? 0 : y0 + 1 >= h ? h - 1 : y0 + 1) : fold(y0 + 1, h, fill);
      for (let k = 0; k < ch; k++) {
        const p00 = ya < 0 || xa < 0 ? cval : src[srcOffset + (ya * w + xa) * ch + k];
        const p01 = ya < 0 || xb < 0 ? cval : src[srcOffset + (ya * w + xb) * ch + k];
        const p10 = yb < 0 || xa < 0 ? cval : src[srcOffset + (yb * w + xa) * ch + k];
        const p11 = yb < 0 || xb < 0 ? cval : src[srcOffset + (yb * w + xb) * ch + k];
        const top = p00 + (p01 - p00) * fx;
        const bottom = p10 + (p11 - p10) * fx;
        let v = top + (bottom - top) * fy;
        if (clip) v = Math.min(1, Math.max(0, v * bright));
        dst[out + k] = v * scale;
      }
    }
  }
}
