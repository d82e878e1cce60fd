// The bias-gradient Sum in wasm SIMD (src/kernels/sum.kernel.ts calls it; see kernels.as for the
// module's rules).

/**
 * Sum over every axis but the last of a contiguous [rows, c] tensor (the bias gradient:
 * [N, H, W, C] → [C]): out[ch] = Σ_r x[r, ch]. One pass down the rows per block of 16 channels
 * (four v128 accumulators in registers), then 4-channel blocks, then single channels; loads are
 * unaligned where c is not a multiple of 4. Rows are summed in chunks of 256 whose float32 sums
 * are then added up, so the error grows with 256 + rows/256 additions, not with rows.
 * c < 4 reads the rows as one contiguous run of vectors (c vectors hold 4 whole rows), then folds
 * the lanes back onto their channels.
 */
export function sumRows(x: usize, out: usize, rows: i32, c: i32): void {
  const chunk = 256;
  if (c < 4) {
    // 4 rows = c vectors; lane k of vector v is channel (4v + k) mod c.
    const groups = rows >> 2;
    let t0 = f32x4.splat(0), t1 = f32x4.splat(0), t2 = f32x4.splat(0);
    const step = <usize>c << 4;
    let p = x;
    for (let g0 = 0; g0 < groups; g0 += chunk) {
      const g1 = min(groups, g0 + chunk);
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0);
      if (c == 1) {
        for (let g = g0; g < g1; g++) { a0 = f32x4.add(a0, v128.load(p)); p += step; }
      } else if (c == 2) {
        for (let g = g0; g < g1; g++) {
          a0 = f32x4.add(a0, v128.load(p)); a1 = f32x4.add(a1, v128.load(p, 16)); p += step;
        }
      } else {
        for (let g = g0; g < g1; g++) {
          a0 = f32x4.add(a0, v128.load(p)); a1 = f32x4.add(a1, v128.load(p, 16)); a2 = f32x4.add(a2, v128.load(p, 32));
          p += step;
        }
      }
      t0 = f32x4.add(t0, a0); t1 = f32x4.add(t1, a1); t2 = f32x4.add(t2, a2);
    }
    // Fold: lane index 4v + k → channel (4v + k) mod c, in a fixed order.
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0;
    for (let k = 0; k < 4 * c; k++) {
      const v = k >> 2, lane = k & 3;
      const t = v == 0 ? t0 : v == 1 ? t1 : t2;
      let e: f32 = 0;
      if (lane == 0) e = f32x4.extract_lane(t, 0);
      else if (lane == 1) e = f32x4.extract_lane(t, 1);
      else if (lane == 2) e = f32x4.extract_lane(t, 2);
      else e = f32x4.extract_lane(t, 3);
      const ch = k % c;
      if (ch == 0) s0 += e;
      else if (ch == 1) s1 += e;
      else s2 += e;
    }
    // The last rows % 4 rows, one by one.
    for (let r = groups << 2; r < rows; r++) {
      const q = x + (<usize>(r * c) << 2);
      s0 += load<f32>(q);
      if (c > 1) s1 += load<f32>(q, 4);
      if (c > 2) s2 += load<f32>(q, 8);
    }
    store<f32>(out, s0);
    if (c > 1) store<f32>(out, s1, 4);
    if (c > 2) store<f32>(out, s2, 8);
    return;
  }
  const rowStep = <usize>c << 2;
  let cb = 0;
  for (; cb + 16 <= c; cb += 16) {
    let t0 = f32x4.splat(0), t1 = f32x4.splat(0), t2 = f32x4.splat(0), t3 = f32x4.splat(0);
    let p = x + (<usize>cb << 2);
    for (let r0 = 0; r0 < rows; r0 += chunk) {
      const r1 = min(rows, r0 + chunk);
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let r = r0; r < r1; r++) {
        a0 = f32x4.add(a0, v128.load(p));
        a1 = f32x4.add(a1, v128.load(p, 16));
        a2 = f32x4.add(a2, v128.load(p, 32));
        a3 = f32x4.add(a3, v128.load(p, 48));
        p += rowStep;
      }
      t0 = f32x4.add(t0, a0); t1 = f32x4.add(t1, a1); t2 = f32x4.add(t2, a2); t3 = f32x4.add(t3, a3);
    }
    const q = out + (<usize>cb << 2);
    v128.store(q, t0); v128.store(q, t1, 16); v128.store(q, t2, 32); v128.store(q, t3, 48);
  }
  for (; cb + 4 <= c; cb += 4) {
    let t = f32x4.splat(0);
    let p = x + (<usize>cb << 2);
    for (let r0 = 0; r0 < rows; r0 += chunk) {
      const r1 = min(rows, r0 + chunk);
      let a = f32x4.splat(0);
      for (let r = r0; r < r1; r++) { a = f32x4.add(a, v128.load(p)); p += rowStep; }
      t = f32x4.add(t, a);
    }
    v128.store(out + (<usize>cb << 2), t);
  }
  for (; cb < c; cb++) {
    let t: f32 = 0;
    let p = x + (<usize>cb << 2);
    for (let r0 = 0; r0 < rows; r0 += chunk) {
      const r1 = min(rows, r0 + chunk);
      let a: f32 = 0;
      for (let r = r0; r < r1; r++) { a += load<f32>(p); p += rowStep; }
      t += a;
    }
    store<f32>(out + (<usize>cb << 2), t);
  }
}
