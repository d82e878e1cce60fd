// MaxPoolGrad in wasm SIMD (src/kernels/max-pool-grad.kernel.ts calls it; see kernels.as for
// the module's rules: pointers into tfjs-wasm's heap, nothing written but the output).

/**
 * MaxPoolGrad: dx = 0, then each window's first maximum (row-major window order, strictly
 * greater replaces, padding never wins, no value above -Infinity → no winner) receives dy.
 * Four channels per v128: the argmax is tracked as a tap number per lane, then dy is added to
 * every tap under a lane mask (no scalar scatter). `fh`/`fw` are the effective (dilated)
 * window sizes, stepped by `dh`/`dw`.
 */
export function maxPoolGrad(
  x: usize, dy: usize, dx: usize,
  batch: i32, inH: i32, inW: i32, c: i32, outH: i32, outW: i32,
  sH: i32, sW: i32, fh: i32, fw: i32, dh: i32, dw: i32, top: i32, left: i32,
): void {
  memory.fill(dx, 0, <usize>(batch * inH * inW * c) << 2);
  const c4 = c & ~3;
  const rowStride = <usize>(inW * c) << 2;
  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sH - top;
      // Window rows inside the input: wy in [wyLo, wyHi], multiples of dh.
      let wyLo = 0;
      if (y0 < 0) wyLo = ((-y0 + dh - 1) / dh) * dh;
      let wyHi = min(fh - 1, inH - 1 - y0);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sW - left;
        let wxLo = 0;
        if (x0 < 0) wxLo = ((-x0 + dw - 1) / dw) * dw;
        const wxHi = min(fw - 1, inW - 1 - x0);
        if (wyLo > wyHi || wxLo > wxHi) continue;
        const o = <usize>(((n * outH + oy) * outW + ox) * c) << 2;
        const corner = <usize>(((n * inH + y0 + wyLo) * inW + x0 + wxLo) * c) << 2;
        const rowStep = rowStride * <usize>dh;
        const colStep = <usize>(dw * c) << 2;
        for (let d = 0; d < c4; d += 4) {
          const dOff = <usize>d << 2;
          let best = f32x4.splat(-Infinity);
          let win = i32x4.splat(-1);
          let t = 0;
          let rowP = x + corner + dOff;
          for (let wy = wyLo; wy <= wyHi; wy += dh) {
            let p = rowP;
            for (let wx = wxLo; wx <= wxHi; wx += dw) {
              const v = v128.load(p);
              const m = f32x4.gt(v, best);
              best = v128.bitselect(v, best, m);
              win = v128.bitselect(i32x4.splat(t), win, m);
              t++;
              p += colStep;
            }
            rowP += rowStep;
          }
          const g = v128.load(dy + o + dOff);
          t = 0;
          rowP = dx + corner + dOff;
          for (let wy = wyLo; wy <= wyHi; wy += dh) {
            let p = rowP;
            for (let wx = wxLo; wx <= wxHi; wx += dw) {
              const m = i32x4.eq(win, i32x4.splat(t));
              v128.store(p, f32x4.add(v128.load(p), v128.and(g, m)));
              t++;
              p += colStep;
            }
            rowP += rowStep;
          }
        }
        for (let d = c4; d < c; d++) {
          const dOff = <usize>d << 2;
          let best: f32 = -Infinity;
          let at: usize = 0;
          let found = false;
          let rowP = corner + dOff;
          for (let wy = wyLo; wy <= wyHi; wy += dh) {
            let p = rowP;
            for (let wx = wxLo; wx <= wxHi; wx += dw) {
              const v = load<f32>(x + p);
              if (v > best) {
                best = v;
                at = p;
                found = true;
              }
              p += colStep;
            }
            rowP += rowStep;
          }
          if (found) store<f32>(dx + at, load<f32>(dx + at) + load<f32>(dy + o + dOff));
        }
      }
    }
  }
}
