// The augmentation's bilinear affine resampling in wasm SIMD (compiled by compile.mjs next to this
// file at `npm run build`; libs/datasets/src/affine-transform-wasm.ts loads and calls it). The
// .as extension keeps tsc, eslint and swc off a file that is AssemblyScript, not TypeScript.
//
// The module imports its memory (`env.memory`, created and grown by the loader): the loader copies
// the source image to byte 0, the kernel writes the output image at `dst`, the loader copies it
// out. Built with `--runtime stub`, no static data and no allocation: the whole memory is the
// loader's. The loader leaves 16 bytes of slack after each image: the 4-lane loads and stores of
// the last pixel reach up to 3 floats past it.

// scipy's fill modes, as the loader numbers them.
const NEAREST = 0;
const CONSTANT = 1;
const REFLECT = 2;
const WRAP = 3;
// 2³²: the fixed point's unit.
const ONE32: f64 = 4294967296.0;

/** `fold` of affine-transform-fast.ts: a neighbour index outside [0, n) → the one sampled, or -1 (cval). */
// @ts-ignore: decorator
@inline
function fold(i: i32, n: i32, mode: i32): i32 {
  if (i >= 0 && i < n) return i;
  if (mode == NEAREST) return i < 0 ? 0 : n - 1;
  if (mode == CONSTANT) return -1;
  if (mode == WRAP) return ((i % n) + n) % n;
  const period = 2 * n;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - 1 - m;
}

/**
 * One border pixel (a neighbour outside the image): the neighbours' indices folded by the fill
 * mode as in the JS pass (`constant`: cval for a neighbour outside, and cval alone far outside),
 * then the same 4-lane interpolation as inside, in float32.
 */
// @ts-ignore: decorator
@inline
function border(
  src: usize, out: usize, w: i32, h: i32, pixelBytes: usize, x0: i32, y0: i32, vfx: v128, vfy: v128,
  fill: i32, vCval: v128, vBright: v128, vScale: v128, clip: bool,
): void {
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  if (fill == CONSTANT && (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h)) {
    let v = vCval;
    if (clip) v = f32x4.pmin(f32x4.pmax(f32x4.mul(v, vBright), zero), one);
    v = f32x4.mul(v, vScale);
    for (let k: usize = 0; k < pixelBytes; k += 16) v128.store(out + k, v);
    return;
  }
  const xa = fold(x0, w, fill);
  const xb = fold(x0 + 1, w, fill);
  const ya = fold(y0, h, fill);
  const yb = fold(y0 + 1, h, fill);
  const rowBytes = <usize>w * pixelBytes;
  const i00 = src + <usize>ya * rowBytes + <usize>xa * pixelBytes;
  const i01 = src + <usize>ya * rowBytes + <usize>xb * pixelBytes;
  const i10 = src + <usize>yb * rowBytes + <usize>xa * pixelBytes;
  const i11 = src + <usize>yb * rowBytes + <usize>xb * pixelBytes;
  const in00 = ya >= 0 && xa >= 0;
  const in01 = ya >= 0 && xb >= 0;
  const in10 = yb >= 0 && xa >= 0;
  const in11 = yb >= 0 && xb >= 0;
  for (let k: usize = 0; k < pixelBytes; k += 16) {
    const p00 = in00 ? v128.load(i00 + k) : vCval;
    const p01 = in01 ? v128.load(i01 + k) : vCval;
    const p10 = in10 ? v128.load(i10 + k) : vCval;
    const p11 = in11 ? v128.load(i11 + k) : vCval;
    const top = f32x4.add(p00, f32x4.mul(f32x4.sub(p01, p00), vfx));
    const bottom = f32x4.add(p10, f32x4.mul(f32x4.sub(p11, p10), vfx));
    let v = f32x4.add(top, f32x4.mul(f32x4.sub(bottom, top), vfy));
    if (clip) v = f32x4.pmin(f32x4.pmax(f32x4.mul(v, vBright), zero), one);
    v128.store(out + k, f32x4.mul(v, vScale));
  }
}

/**
 * `affineTransformFast` (affine-transform-fast.ts) over `[h, w, ch]` float32 images: output pixel
 * (x, y) samples the source at the inverse map `[a, b, c, d, e, f]` about the centre, bilinearly,
 * then brightness (clipped to [0, 1] when `bright` ≠ 1) and rescale. Each row's first source
 * position is computed in float64 as the JS pass does, then advances by the map's column in 32.32
 * fixed point (within ~1e-7 pixel of the JS pass's float64 positions over a row); a pixel whose four
 * neighbours are inside (all but a border) loads each neighbour's channels as one v128 (4 lanes: the
 * channels and whatever follows, never used) and interpolates all channels at once in float32; the
 * border takes the scalar fill-mode path.
 */
export function affineResample(
  src: usize, dst: usize, h: i32, w: i32, ch: i32,
  a: f64, b: f64, c: f64, d: f64, e: f64, f: f64,
  fill: i32, cval: f64, bright: f64, scale: f64,
): void {
  // Inlined four times, with constants: RGB (the loop over channel groups and the offsets fold
  // away) or any channel count, brightness clipped or not (no test in the loop).
  const clip = bright != 1;
  if (ch == 3) {
    if (clip) resample(src, dst, h, w, 3, a, b, c, d, e, f, fill, cval, bright, scale, true);
    else resample(src, dst, h, w, 3, a, b, c, d, e, f, fill, cval, bright, scale, false);
  } else {
    if (clip) resample(src, dst, h, w, ch, a, b, c, d, e, f, fill, cval, bright, scale, true);
    else resample(src, dst, h, w, ch, a, b, c, d, e, f, fill, cval, bright, scale, false);
  }
}

// @ts-ignore: decorator
@inline
function resample(
  src: usize, dst: usize, h: i32, w: i32, ch: i32,
  a: f64, b: f64, c: f64, d: f64, e: f64, f: f64,
  fill: i32, cval: f64, bright: f64, scale: f64, clip: bool,
): void {
  const xc = <f64>(w - 1) / 2;
  const yc = <f64>(h - 1) / 2;
  const vBright = f32x4.splat(<f32>bright);
  const vScale = f32x4.splat(<f32>scale);
  const vCval = f32x4.splat(<f32>cval);
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  const pixelBytes = <usize>ch << 2;
  const rowBytes = <usize>(w * ch) << 2;
  const xLast = <u32>(w - 1);
  const yLast = <u32>(h - 1);
  // Source positions in 32.32 fixed point, (x, y) as the two i64 lanes of one v128: a step right
  // is one i64x2.add; the high halves are floor(x), floor(y) (two's complement floors negatives),
  // the top 24 bits of the low halves the fractions (exact in float32).
  const step = i64x2(<i64>Math.round(a * ONE32), <i64>Math.round(d * ONE32));
  const fracScale = f32x4.splat(<f32>(1.0 / 16777216.0));
  let out = dst;
  for (let y = 0; y < h; y++) {
    const cy = <f64>y - yc;
    const xs = -a * xc + b * cy + c + xc;
    const ys = -d * xc + e * cy + f + yc;
    let pos = i64x2(<i64>Math.floor(xs * ONE32), <i64>Math.floor(ys * ONE32));
    for (let x = 0; x < w; x++) {
      const x0 = i32x4.extract_lane(pos, 1);
      const y0 = i32x4.extract_lane(pos, 3);
      // Lanes 0 and 2: fx, fy in [0, 1).
      const frac = f32x4.mul(f32x4.convert_i32x4_s(i32x4.shr_u(pos, 8)), fracScale);
      const vfx = v128.shuffle<f32>(frac, frac, 0, 0, 0, 0);
      const vfy = v128.shuffle<f32>(frac, frac, 2, 2, 2, 2);
      if (<u32>x0 < xLast && <u32>y0 < yLast) {
        const i00 = src + <usize>y0 * rowBytes + <usize>x0 * pixelBytes;
        const i10 = i00 + rowBytes;
        for (let k: usize = 0; k < pixelBytes; k += 16) {
          const p00 = v128.load(i00 + k);
          const p01 = v128.load(i00 + pixelBytes + k);
          const p10 = v128.load(i10 + k);
          const p11 = v128.load(i10 + pixelBytes + k);
          const top = f32x4.add(p00, f32x4.mul(f32x4.sub(p01, p00), vfx));
          const bottom = f32x4.add(p10, f32x4.mul(f32x4.sub(p11, p10), vfx));
          let v = f32x4.add(top, f32x4.mul(f32x4.sub(bottom, top), vfy));
          // pmin/pmax (one minps/maxps each; min/max order NaNs at several times the cost):
          // the same result for every input but NaN, which images do not hold.
          if (clip) v = f32x4.pmin(f32x4.pmax(f32x4.mul(v, vBright), zero), one);
          v128.store(out + k, f32x4.mul(v, vScale));
        }
      } else {
        border(src, out, w, h, pixelBytes, x0, y0, vfx, vfy, fill, vCval, vBright, vScale, clip);
      }
      pos = i64x2.add(pos, step);
      out += pixelBytes;
    }
  }
}

/** `n` bytes at `src` → floats at `dst`, each divided by 255 (decoded uint8 pixels → [0, 1]). */
export function unitFromBytes(src: usize, dst: usize, n: i32): void {
  const k255 = f32x4.splat(255);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const bytes = v128.load(src + <usize>i);
    const lo = i16x8.extend_low_i8x16_u(bytes);
    const hi = i16x8.extend_high_i8x16_u(bytes);
    const o = dst + (<usize>i << 2);
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(lo)), k255));
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(lo)), k255), 16);
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(hi)), k255), 32);
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(hi)), k255), 48);
  }
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), <f32>load<u8>(src + <usize>i) / 255);
}
