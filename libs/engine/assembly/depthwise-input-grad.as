// Depthwise Conv2D dx, multiplier 1, in wasm SIMD (src/kernels/depthwise-backprop.kernel.ts calls
// it; see kernels.as for the module's rules).

/** v / s when s divides v (v ≥ 0), else −1; strides 1 and 2 without a division. */
// @ts-ignore: decorator
@inline function exactQuotient(v: i32, s: i32): i32 {
  if (s == 1) return v;
  if (s == 2) return v & 1 ? -1 : v >> 1;
  return v % s ? -1 : v / s;
}

/**
 * Depthwise dx for a channel multiplier of 1, gathered:
 * dx[n, y, x, ch] = Σ_(a,b) dy[n, i, j, ch] · w[a, b, ch] over the taps with
 * y + padTop − a·dilH = i·sH and x + padLeft − b·dilW = j·sW for an i, j inside dy (any stride,
 * padding, dilation). Per input position, 32 channels (eight v128 accumulators) sum over the
 * taps in registers and dx is written once: no zero-spread dy, no rotated filter. Then blocks
 * of 16 and 4 channels, then single channels.
 */
export function depthwiseInputGrad(
  dy: usize, w: usize, dx: usize,
  batch: i32, inH: i32, inW: i32, c: i32, outH: i32, outW: i32,
  sH: i32, sW: i32, padTop: i32, padLeft: i32, kh: i32, kw: i32, dilH: i32, dilW: i32,
): void {
  const rowC = <usize>c << 2;
  for (let n = 0; n < batch; n++) {
    for (let y = 0; y < inH; y++) {
      const xRow = dx + <usize>((n * inH + y) * inW) * rowC;
      for (let x = 0; x < inW; x++) {
        const p = xRow + <usize>x * rowC;
        let cb = 0;
        for (; cb + 32 <= c; cb += 32) {
          const o = <usize>cb << 2;
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
          for (let fa = 0; fa < kh; fa++) {
            const iy = y + padTop - fa * dilH;
            if (iy < 0) break; // fa only grows: iy only shrinks
            const i = exactQuotient(iy, sH);
            if (i < 0 || i >= outH) continue;
            const gRow = dy + <usize>((n * outH + i) * outW) * rowC + o;
            const wRow = w + <usize>(fa * kw) * rowC + o;
            for (let fb = 0; fb < kw; fb++) {
              const jx = x + padLeft - fb * dilW;
              if (jx < 0) break;
              const j = exactQuotient(jx, sW);
              if (j < 0 || j >= outW) continue;
              const g = gRow + <usize>j * rowC;
              const k = wRow + <usize>fb * rowC;
              a0 = f32x4.add(a0, f32x4.mul(v128.load(g), v128.load(k)));
              a1 = f32x4.add(a1, f32x4.mul(v128.load(g, 16), v128.load(k, 16)));
              a2 = f32x4.add(a2, f32x4.mul(v128.load(g, 32), v128.load(k, 32)));
              a3 = f32x4.add(a3, f32x4.mul(v128.load(g, 48), v128.load(k, 48)));
              a4 = f32x4.add(a4, f32x4.mul(v128.load(g, 64), v128.load(k, 64)));
              a5 = f32x4.add(a5, f32x4.mul(v128.load(g, 80), v128.load(k, 80)));
              a6 = f32x4.add(a6, f32x4.mul(v128.load(g, 96), v128.load(k, 96)));
              a7 = f32x4.add(a7, f32x4.mul(v128.load(g, 112), v128.load(k, 112)));
            }
          }
          const q = p + o;
          v128.store(q, a0); v128.store(q, a1, 16); v128.store(q, a2, 32); v128.store(q, a3, 48);
          v128.store(q, a4, 64); v128.store(q, a5, 80); v128.store(q, a6, 96); v128.store(q, a7, 112);
        }
        for (; cb + 16 <= c; cb += 16) {
          const o = <usize>cb << 2;
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          for (let fa = 0; fa < kh; fa++) {
            const iy = y + padTop - fa * dilH;
            if (iy < 0) break;
            const i = exactQuotient(iy, sH);
            if (i < 0 || i >= outH) continue;
            const gRow = dy + <usize>((n * outH + i) * outW) * rowC + o;
            const wRow = w + <usize>(fa * kw) * rowC + o;
            for (let fb = 0; fb < kw; fb++) {
              const jx = x + padLeft - fb * dilW;
              if (jx < 0) break;
              const j = exactQuotient(jx, sW);
              if (j < 0 || j >= outW) continue;
              const g = gRow + <usize>j * rowC;
              const k = wRow + <usize>fb * rowC;
              a0 = f32x4.add(a0, f32x4.mul(v128.load(g), v128.load(k)));
              a1 = f32x4.add(a1, f32x4.mul(v128.load(g, 16), v128.load(k, 16)));
              a2 = f32x4.add(a2, f32x4.mul(v128.load(g, 32), v128.load(k, 32)));
              a3 = f32x4.add(a3, f32x4.mul(v128.load(g, 48), v128.load(k, 48)));
            }
          }
          const q = p + o;
          v128.store(q, a0); v128.store(q, a1, 16); v128.store(q, a2, 32); v128.store(q, a3, 48);
        }
        for (; cb + 4 <= c; cb += 4) {
          const o = <usize>cb << 2;
          let a = f32x4.splat(0);
          for (let fa = 0; fa < kh; fa++) {
            const iy = y + padTop - fa * dilH;
            if (iy < 0) break;
            const i = exactQuotient(iy, sH);
            if (i < 0 || i >= outH) continue;
            const gRow = dy + <usize>((n * outH + i) * outW) * rowC + o;
            const wRow = w + <usize>(fa * kw) * rowC + o;
            for (let fb = 0; fb < kw; fb++) {
              const jx = x + padLeft - fb * dilW;
              if (jx < 0) break;
              const j = exactQuotient(jx, sW);
              if (j < 0 || j >= outW) continue;
              a = f32x4.add(a, f32x4.mul(v128.load(gRow + <usize>j * rowC), v128.load(wRow + <usize>fb * rowC)));
            }
          }
          v128.store(p + o, a);
        }
        for (; cb < c; cb++) {
          const o = <usize>cb << 2;
          let s: f32 = 0;
          for (let fa = 0; fa < kh; fa++) {
            const iy = y + padTop - fa * dilH;
            if (iy < 0) break;
            const i = exactQuotient(iy, sH);
            if (i < 0 || i >= outH) continue;
            const gRow = dy + <usize>((n * outH + i) * outW) * rowC + o;
            const wRow = w + <usize>(fa * kw) * rowC + o;
            for (let fb = 0; fb < kw; fb++) {
              const jx = x + padLeft - fb * dilW;
              if (jx < 0) break;
              const j = exactQuotient(jx, sW);
              if (j < 0 || j >= outW) continue;
              s += load<f32>(gRow + <usize>j * rowC) * load<f32>(wRow + <usize>fb * rowC);
            }
          }
          store<f32>(p + o, s);
        }
      }
    }
  }
}
