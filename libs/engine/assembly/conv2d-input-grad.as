// Conv2DBackpropInput of a conv in wasm SIMD (src/kernels/conv2d-backprop-input.kernel.ts
// calls it; see kernels.as for the module's rules).
import { sum4, tail4 } from './input-grad-tiles';

/**
 * Conv2DBackpropInput of a conv with any stride, filter, padding and dilation (also the forward
 * pass of a conv2dTranspose), gathered:
 * dx[n, y, x, ci] = Σ_(a,b) Σ_co dy[n, i, j, co] · w[a, b, ci, co] with i = (y + padTop − a·dilH) / sH,
 * j = (x + padLeft − b·dilW) / sW over the taps where both divide exactly and land inside dy.
 * Same register tiles as pointwiseInputGrad (2 positions × 4 input channels, dy and w both
 * contiguous along co), summed over every tap before one store, so dx is written once and no
 * rotated filter, zero-spread dy or phase is built. The tile's two positions are sW apart (the
 * same phase), so one tap reads two neighbouring dy positions; x runs phase by phase.
 */
export function conv2dInputGrad(
  dy: usize, w: usize, dx: usize,
  batch: i32, inH: i32, inW: i32, cin: i32, outH: i32, outW: i32, cout: i32,
  sH: i32, sW: i32, padTop: i32, padLeft: i32, kh: i32, kw: i32, dilH: i32, dilW: i32,
): void {
  const co4 = cout & ~3;
  const rowG = <usize>cout << 2;
  const rowX = <usize>cin << 2;
  const tapW = <usize>(cin * cout) << 2;
  for (let n = 0; n < batch; n++) {
    for (let y = 0; y < inH; y++) {
      const xRow = dx + <usize>((n * inH + y) * inW) * rowX;
      for (let phase = 0; phase < sW; phase++) for (let x = phase; x < inW; x += 2 * sW) {
        const two = x + sW < inW;
        let ci = 0;
        for (; ci + 4 <= cin; ci += 4) {
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
          let t0 = f32x4.splat(0), t1 = f32x4.splat(0);
          for (let fa = 0; fa < kh; fa++) {
            const ti = y + padTop - fa * dilH;
            if (ti < 0 || ti % sH != 0) continue;
            const i = ti / sH;
            if (i >= outH) continue;
            const gRow = dy + <usize>((n * outH + i) * outW) * rowG;
            for (let fb = 0; fb < kw; fb++) {
              // % truncates, so it is 0 exactly when sW divides tj, negative or not.
              const tj = x + padLeft - fb * dilW;
              if (tj % sW != 0) continue;
              const j = tj / sW;
              const v0 = j >= 0 && j < outW;
              const v1 = two && j + 1 >= 0 && j + 1 < outW;
              if (!v0 && !v1) continue;
              const w0 = w + <usize>(fa * kw + fb) * tapW + <usize>ci * rowG;
              if (v0 && v1) {
                const g0 = gRow + <usize>j * rowG;
                const g1 = g0 + rowG;
                for (let co = 0; co < co4; co += 4) {
                  const o = <usize>co << 2;
                  const d0 = v128.load(g0 + o), d1 = v128.load(g1 + o);
                  const k0 = v128.load(w0 + o), k1 = v128.load(w0 + rowG + o);
                  const k2 = v128.load(w0 + 2 * rowG + o), k3 = v128.load(w0 + 3 * rowG + o);
                  a0 = f32x4.add(a0, f32x4.mul(d0, k0)); a1 = f32x4.add(a1, f32x4.mul(d0, k1));
                  a2 = f32x4.add(a2, f32x4.mul(d0, k2)); a3 = f32x4.add(a3, f32x4.mul(d0, k3));
                  b0 = f32x4.add(b0, f32x4.mul(d1, k0)); b1 = f32x4.add(b1, f32x4.mul(d1, k1));
                  b2 = f32x4.add(b2, f32x4.mul(d1, k2)); b3 = f32x4.add(b3, f32x4.mul(d1, k3));
                }
                if (co4 < cout) {
                  t0 = f32x4.add(t0, tail4(g0, w0, co4, cout, rowG));
                  t1 = f32x4.add(t1, tail4(g1, w0, co4, cout, rowG));
                }
              } else if (v0) {
                const g0 = gRow + <usize>j * rowG;
                for (let co = 0; co < co4; co += 4) {
                  const o = <usize>co << 2;
                  const d0 = v128.load(g0 + o);
                  a0 = f32x4.add(a0, f32x4.mul(d0, v128.load(w0 + o)));
                  a1 = f32x4.add(a1, f32x4.mul(d0, v128.load(w0 + rowG + o)));
                  a2 = f32x4.add(a2, f32x4.mul(d0, v128.load(w0 + 2 * rowG + o)));
                  a3 = f32x4.add(a3, f32x4.mul(d0, v128.load(w0 + 3 * rowG + o)));
                }
                if (co4 < cout) t0 = f32x4.add(t0, tail4(g0, w0, co4, cout, rowG));
              } else {
                const g1 = gRow + <usize>(j + 1) * rowG;
                for (let co = 0; co < co4; co += 4) {
                  const o = <usize>co << 2;
                  const d1 = v128.load(g1 + o);
                  b0 = f32x4.add(b0, f32x4.mul(d1, v128.load(w0 + o)));
                  b1 = f32x4.add(b1, f32x4.mul(d1, v128.load(w0 + rowG + o)));
                  b2 = f32x4.add(b2, f32x4.mul(d1, v128.load(w0 + 2 * rowG + o)));
                  b3 = f32x4.add(b3, f32x4.mul(d1, v128.load(w0 + 3 * rowG + o)));
                }
                if (co4 < cout) t1 = f32x4.add(t1, tail4(g1, w0, co4, cout, rowG));
              }
            }
          }
          const p = xRow + <usize>x * rowX + (<usize>ci << 2);
          v128.store(p, f32x4.add(sum4(a0, a1, a2, a3), t0));
          if (two) v128.store(p + <usize>sW * rowX, f32x4.add(sum4(b0, b1, b2, b3), t1));
        }
        for (; ci < cin; ci++) {
          const positions = two ? 2 : 1;
          for (let q = 0; q < positions; q++) {
            const xx = x + q * sW;
            let s: f32 = 0;
            for (let fa = 0; fa < kh; fa++) {
              const ti = y + padTop - fa * dilH;
              if (ti < 0 || ti % sH != 0) continue;
              const i = ti / sH;
              if (i >= outH) continue;
              for (let fb = 0; fb < kw; fb++) {
                const tj = xx + padLeft - fb * dilW;
                if (tj < 0 || tj % sW != 0) continue;
                const j = tj / sW;
                if (j >= outW) continue;
                const g = dy + <usize>((n * outH + i) * outW + j) * rowG;
                const wr = w + <usize>(fa * kw + fb) * tapW + <usize>ci * rowG;
                for (let co = 0; co < cout; co++) s += load<f32>(g + (<usize>co << 2)) * load<f32>(wr + (<usize>co << 2));
              }
            }
            store<f32>(xRow + <usize>xx * rowX + (<usize>ci << 2), s);
          }
        }
      }
    }
  }
}
