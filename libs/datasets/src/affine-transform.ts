import type { ImageShape } from './image-decode';
import type { FillMode } from './augmentation.schema';

/**
 * A 2-D affine map `[a, b, c, d, e, f]`: x' = a·x + b·y + c, y' = d·x + e·y + f, in pixel units
 * relative to the image centre ((w-1)/2, (h-1)/2), x to the right, y down. The transforms below are
 * *inverse* maps (output pixel → where to sample the input), which is what resampling needs.
 */
export type Affine = [number, number, number, number, number, number];

export const IDENTITY: Affine = [1, 0, 0, 0, 1, 0];

/** `outer ∘ inner`: apply `inner` first. */
export function compose(outer: Affine, inner: Affine): Affine {
  const [a, b, c, d, e, f] = outer;
  const [p, q, r, s, t, u] = inner;
  return [a * p + b * s, a * q + b * t, a * r + b * u + c, d * p + e * s, d * q + e * t, d * r + e * u + f];
}

// cos(90°) is 6e-17, not 0: snapping keeps right-angle rotations exact pixel permutations.
const snap = (v: number) => (Math.abs(v - Math.round(v)) < 1e-12 ? Math.round(v) : v);

/** Rotates the content counter-clockwise (as seen on screen) by `degrees`. */
export function rotationInverse(degrees: number): Affine {
  const t = (degrees * Math.PI) / 180;
  const cos = snap(Math.cos(t));
  const sin = snap(Math.sin(t));
  return [cos, -sin, 0, sin, cos, 0];
}

/** Moves the content `dx` pixels right and `dy` pixels down. */
export function shiftInverse(dx: number, dy: number): Affine {
  return [1, 0, -dx, 0, 1, -dy];
}

/** Slides each row right by tan(degrees) × its distance below the centre (rows above go left). */
export function shearInverse(degrees: number): Affine {
  return [1, -snap(Math.tan((degrees * Math.PI) / 180)), 0, 0, 1, 0];
}

/** Enlarges the content `sx` times horizontally and `sy` times vertically about the centre. */
export function zoomInverse(sx: number, sy: number): Affine {
  return [1 / sx, 0, 0, 0, 1 / sy, 0];
}

/** Mirrors left↔right (and/or top↔bottom) about the centre. */
export function flipInverse(horizontal: boolean, vertical: boolean): Affine {
  return [horizontal ? -1 : 1, 0, 0, 0, vertical ? -1 : 1, 0];
}

/** Where index `i` outside [0, n) reads from, or -1 for the constant fill. scipy.ndimage's modes. */
export function foldIndex(i: number, n: number, mode: FillMode): number {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case 'nearest':
      return i < 0 ? 0 : n - 1;
    case 'constant':
      return -1;
    case 'wrap':
      return ((i % n) + n) % n;
    case 'reflect': {
      // Half-sample symmetric: … 1 0 | 0 1 … n-1 | n-1 n-2 …
      const period = 2 * n;
      const m = ((i % period) + period) % period;
      return m < n ? m : period - 1 - m;
    }
  }
}

/**
 * Resamples `src` (one `[h, w, c]` image at `srcOffset`) through the inverse map `m` with bilinear
 * interpolation (scipy's order=1, what Keras uses), writing to `dst` at `dstOffset`.
 */
export function affineTransform(
  src: Float32Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  shape: ImageShape,
  m: Affine,
  fill: FillMode = 'nearest',
  cval = 0,
): void {
  const [h, w, ch] = shape;
  const [a, b, c, d, e, f] = m;
  const xc = (w - 1) / 2;
  const yc = (h - 1) / 2;
  for (let y = 0; y < h; y++) {
    const cy = y - yc;
    for (let x = 0; x < w; x++) {
      const cx = x - xc;
      const xs = a * cx + b * cy + c + xc;
      const ys = d * cx + e * cy + f + yc;
      const x0 = Math.floor(xs);
      const y0 = Math.floor(ys);
      const fx = xs - x0;
      const fy = ys - y0;
      const xa = foldIndex(x0, w, fill);
      const xb = foldIndex(x0 + 1, w, fill);
      const ya = foldIndex(y0, h, fill);
      const yb = foldIndex(y0 + 1, h, fill);
      const out = dstOffset + (y * w + x) * ch;
      for (let k = 0; k < ch; k++) {
        const p00 = ya < 0 || xa < 0 ? cval : src[srcOffset + (ya * w + xa) * ch + k];
        const p01 = ya < 0 || xb < 0 ? cval : src[srcOffset + (ya * w + xb) * ch + k];
        const p10 = yb < 0 || xa < 0 ? cval : src[srcOffset + (yb * w + xa) * ch + k];
        const p11 = yb < 0 || xb < 0 ? cval : src[srcOffset + (yb * w + xb) * ch + k];
        const top = p00 + (p01 - p00) * fx;
        const bottom = p10 + (p11 - p10) * fx;
        dst[out + k] = top + (bottom - top) * fy;
      }
    }
  }
}

/** One image through `m`, as a new array: the convenient form for tests and previews. */
export function transformImage(
  image: Float32Array,
  shape: ImageShape,
  m: Affine,
  fill: FillMode = 'nearest',
  cval = 0,
): Float32Array {
  const out = new Float32Array(image.length);
  affineTransform(image, 0, out, 0, shape, m, fill, cval);
  return out;
}
