// Conv2DBackpropInput of a pointwise conv in wasm SIMD (src/kernels/conv2d-backprop-input.kernel.ts
// calls it; see kernels.as for the module's rules).
import { sum4, tail4 } from './input-grad-tiles';

/**
 * Conv2DBackpropInput of a pointwise conv (1×1 filter, stride 1, no padding): dx = dy · Wᵀ,
 * dx[p, ci] = Σ_co dy[p, co] · w[ci, co], both operands contiguous along co. Register tiles of
 * 2 positions × 4 input channels (eight v128 accumulators over co), reduced by a 4×4
 * transpose-add and stored as one v128. Positions go in blocks of 32 so that the block of dy
 * and the tile's 4 filter rows stay in L1 while every input-channel tile passes over them.
 */
export function pointwiseInputGrad(dy: usize, w: usize, dx: usize, positions: i32, cin: i32, cout: i32): void {
  const co4 = cout & ~3;
  const rowG = <usize>cout << 2;
  const rowX = <usize>cin << 2;
  for (let p0 = 0; p0 < positions; p0 += 32) {
    const p1 = min(positions, p0 + 32);
    let ci = 0;
    for (; ci + 4 <= cin; ci += 4) {
      const w0 = w + <usize>ci * rowG;
      let p = p0;
      for (; p + 2 <= p1; p += 2) {
        const g0 = dy + <usize>p * rowG;
        const g1 = g0 + rowG;
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
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
        const x0 = dx + <usize>p * rowX + (<usize>ci << 2);
        v128.store(x0, f32x4.add(sum4(a0, a1, a2, a3), tail4(g0, w0, co4, cout, rowG)));
        v128.store(x0 + rowX, f32x4.add(sum4(b0, b1, b2, b3), tail4(g1, w0, co4, cout, rowG)));
      }
      for (; p < p1; p++) {
        const g0 = dy + <usize>p * rowG;
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        for (let co = 0; co < co4; co += 4) {
          const o = <usize>co << 2;
          const d0 = v128.load(g0 + o);
          a0 = f32x4.add(a0, f32x4.mul(d0, v128.load(w0 + o)));
          a1 = f32x4.add(a1, f32x4.mul(d0, v128.load(w0 + rowG + o)));
          a2 = f32x4.add(a2, f32x4.mul(d0, v128.load(w0 + 2 * rowG + o)));
          a3 = f32x4.add(a3, f32x4.mul(d0, v128.load(w0 + 3 * rowG + o)));
        }
        v128.store(dx + <usize>p * rowX + (<usize>ci << 2), f32x4.add(sum4(a0, a1, a2, a3), tail4(g0, w0, co4, cout, rowG)));
      }
    }
    for (; ci < cin; ci++) {
      const wr = w + <usize>ci * rowG;
      for (let p = p0; p < p1; p++) {
        const g0 = dy + <usize>p * rowG;
        let a = f32x4.splat(0);
        for (let co = 0; co < co4; co += 4) a = f32x4.add(a, f32x4.mul(v128.load(g0 + (<usize>co << 2)), v128.load(wr + (<usize>co << 2))));
        let s: f32 = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
        for (let co = co4; co < cout; co++) s += load<f32>(g0 + (<usize>co << 2)) * load<f32>(wr + (<usize>co << 2));
        store<f32>(dx + <usize>p * rowX + (<usize>ci << 2), s);
      }
    }
  }
}
