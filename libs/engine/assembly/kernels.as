// SIMD training kernels for the tfjs `wasm` backend, in AssemblyScript (compiled by
// libs/engine/assembly/compile.mjs at `npm run build`; the .as extension keeps tsc, eslint and
// swc off this file, which is not TypeScript they understand).
//
// The module imports tfjs-wasm's own WebAssembly.Memory (`env.memory`), so every pointer below
// is a byte offset into the backend's heap: tensors are read and written in place, no copies.
// Built with `--runtime stub`, no static data and no allocation: this module must never write
// anywhere but the output tensor it is given (emscripten owns every other byte of the heap).
// All tensors are float32, NHWC, contiguous.

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

/**
 * Depthwise dW for a channel multiplier of 1: dW[a, b, ch] = Σ x[n, i·sH + a·dilH − padTop,
 * j·sW + b·dilW − padLeft, ch] · dy[n, i, j, ch]. For each (n, i, a, b) the valid j range is
 * computed once; 16 channels (four v128 accumulators) at a time sum along the output row in
 * registers, then the row's sum is added to dW (so each dW element takes N·H′ float32
 * additions of row sums, not N·H′·W′ single products).
 */
export function depthwiseFilterGrad(
  x: usize, dy: usize, dw: usize,
  batch: i32, inH: i32, inW: i32, c: i32, outH: i32, outW: i32,
  sH: i32, sW: i32, padTop: i32, padLeft: i32, kh: i32, kw: i32, dilH: i32, dilW: i32,
): void {
  memory.fill(dw, 0, <usize>(kh * kw * c) << 2);
  const xStep = <usize>(sW * c) << 2;
  const gStep = <usize>c << 2;
  for (let n = 0; n < batch; n++) {
    for (let i = 0; i < outH; i++) {
      const gRow = dy + (<usize>((n * outH + i) * outW * c) << 2);
      for (let fa = 0; fa < kh; fa++) {
        const iy = i * sH - padTop + fa * dilH;
        if (iy < 0 || iy >= inH) continue;
        const xRow = x + (<usize>((n * inH + iy) * inW * c) << 2);
        for (let fb = 0; fb < kw; fb++) {
          const off = fb * dilW - padLeft; // ix = j·sW + off
          const j0 = off >= 0 ? 0 : (-off + sW - 1) / sW;
          const last = inW - 1 - off;
          if (last < 0) continue;
          const j1 = min(outW, last / sW + 1);
          if (j0 >= j1) continue;
          const w = dw + (<usize>((fa * kw + fb) * c) << 2);
          const xStart = xRow + (<usize>((j0 * sW + off) * c) << 2);
          const gStart = gRow + (<usize>(j0 * c) << 2);
          let cb = 0;
          for (; cb + 16 <= c; cb += 16) {
            const cOff = <usize>cb << 2;
            let a0 = f32x4.splat(0);
            let a1 = f32x4.splat(0);
            let a2 = f32x4.splat(0);
            let a3 = f32x4.splat(0);
            let px = xStart + cOff;
            let pg = gStart + cOff;
            for (let j = j0; j < j1; j++) {
              a0 = f32x4.add(a0, f32x4.mul(v128.load(px), v128.load(pg)));
              a1 = f32x4.add(a1, f32x4.mul(v128.load(px, 16), v128.load(pg, 16)));
              a2 = f32x4.add(a2, f32x4.mul(v128.load(px, 32), v128.load(pg, 32)));
              a3 = f32x4.add(a3, f32x4.mul(v128.load(px, 48), v128.load(pg, 48)));
              px += xStep;
              pg += gStep;
            }
            const q = w + cOff;
            v128.store(q, f32x4.add(v128.load(q), a0));
            v128.store(q, f32x4.add(v128.load(q, 16), a1), 16);
            v128.store(q, f32x4.add(v128.load(q, 32), a2), 32);
            v128.store(q, f32x4.add(v128.load(q, 48), a3), 48);
          }
          for (; cb + 4 <= c; cb += 4) {
            const cOff = <usize>cb << 2;
            let a0 = f32x4.splat(0);
            let px = xStart + cOff;
            let pg = gStart + cOff;
            for (let j = j0; j < j1; j++) {
              a0 = f32x4.add(a0, f32x4.mul(v128.load(px), v128.load(pg)));
              px += xStep;
              pg += gStep;
            }
            const q = w + cOff;
            v128.store(q, f32x4.add(v128.load(q), a0));
          }
          for (; cb < c; cb++) {
            const cOff = <usize>cb << 2;
            let a: f32 = 0;
            let px = xStart + cOff;
            let pg = gStart + cOff;
            for (let j = j0; j < j1; j++) {
              a += load<f32>(px) * load<f32>(pg);
              px += xStep;
              pg += gStep;
            }
            store<f32>(w + cOff, load<f32>(w + cOff) + a);
          }
        }
      }
    }
  }
}

/**
 * Dense Conv2DBackpropFilter, NHWC: dW[a, b, ci, co] = Σ x[n, i·sH + a·dilH − padTop,
 * j·sW + b·dilW − padLeft, ci] · dy[n, i, j, co]. Per output row (n, i) and tap (a, b) the
 * valid j range is computed once; then register tiles of dW (4 input channels × 8 output
 * channels: eight v128 accumulators, x broadcast, dy loaded) sum along the row and are added
 * to dW in memory. The row's x and dy stay in L1 across the tiles. No packing, no transposes.
 * Outputs with fewer than 4 channels vectorise over input channels instead (dy broadcast).
 */
export function conv2dFilterGrad(
  x: usize, dy: usize, dw: usize,
  batch: i32, inH: i32, inW: i32, cin: i32, outH: i32, outW: i32, cout: i32,
  sH: i32, sW: i32, padTop: i32, padLeft: i32, kh: i32, kw: i32, dilH: i32, dilW: i32,
): void {
  memory.fill(dw, 0, <usize>(kh * kw * cin * cout) << 2);
  const xStep = <usize>(sW * cin) << 2;
  const gStep = <usize>cout << 2;
  const wRow = <usize>cout << 2; // dW stride between input channels
  for (let n = 0; n < batch; n++) {
    for (let i = 0; i < outH; i++) {
      const gRow = dy + (<usize>((n * outH + i) * outW * cout) << 2);
      for (let fa = 0; fa < kh; fa++) {
        const iy = i * sH - padTop + fa * dilH;
        if (iy < 0 || iy >= inH) continue;
        const xRow = x + (<usize>((n * inH + iy) * inW * cin) << 2);
        for (let fb = 0; fb < kw; fb++) {
          const off = fb * dilW - padLeft;
          const j0 = off >= 0 ? 0 : (-off + sW - 1) / sW;
          const last = inW - 1 - off;
          if (last < 0) continue;
          const j1 = min(outW, last / sW + 1);
          if (j0 >= j1) continue;
          const wTap = dw + (<usize>((fa * kw + fb) * cin * cout) << 2);
          const xStart = xRow + (<usize>((j0 * sW + off) * cin) << 2);
          const gStart = gRow + (<usize>(j0 * cout) << 2);
          if (cout >= 4) rowTilesByOutput(xStart, gStart, wTap, j1 - j0, cin, cout, xStep, gStep, wRow);
          else rowTilesByInput(xStart, gStart, wTap, j1 - j0, cin, cout, xStep, gStep);
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline
function rowTilesByOutput(xStart: usize, gStart: usize, wTap: usize, len: i32, cin: i32, cout: i32, xStep: usize, gStep: usize, wRow: usize): void {
  let ci = 0;
  for (; ci + 4 <= cin; ci += 4) {
    const xc = xStart + (<usize>ci << 2);
    const wc = wTap + (<usize>(ci * cout) << 2);
    let co = 0;
    for (; co + 8 <= cout; co += 8) {
      const q = wc + (<usize>co << 2);
      let a00 = v128.load(q), a01 = v128.load(q, 16);
      let a10 = v128.load(q + wRow), a11 = v128.load(q + wRow, 16);
      let a20 = v128.load(q + 2 * wRow), a21 = v128.load(q + 2 * wRow, 16);
      let a30 = v128.load(q + 3 * wRow), a31 = v128.load(q + 3 * wRow, 16);
      let px = xc;
      let pg = gStart + (<usize>co << 2);
      for (let j = 0; j < len; j++) {
        const g0 = v128.load(pg), g1 = v128.load(pg, 16);
        const x0 = v128.load32_splat(px), x1 = v128.load32_splat(px, 4);
        const x2 = v128.load32_splat(px, 8), x3 = v128.load32_splat(px, 12);
        a00 = f32x4.add(a00, f32x4.mul(x0, g0)); a01 = f32x4.add(a01, f32x4.mul(x0, g1));
        a10 = f32x4.add(a10, f32x4.mul(x1, g0)); a11 = f32x4.add(a11, f32x4.mul(x1, g1));
        a20 = f32x4.add(a20, f32x4.mul(x2, g0)); a21 = f32x4.add(a21, f32x4.mul(x2, g1));
        a30 = f32x4.add(a30, f32x4.mul(x3, g0)); a31 = f32x4.add(a31, f32x4.mul(x3, g1));
        px += xStep;
        pg += gStep;
      }
      v128.store(q, a00); v128.store(q, a01, 16);
      v128.store(q + wRow, a10); v128.store(q + wRow, a11, 16);
      v128.store(q + 2 * wRow, a20); v128.store(q + 2 * wRow, a21, 16);
      v128.store(q + 3 * wRow, a30); v128.store(q + 3 * wRow, a31, 16);
    }
    for (; co + 4 <= cout; co += 4) {
      const q = wc + (<usize>co << 2);
      let a0 = v128.load(q), a1 = v128.load(q + wRow), a2 = v128.load(q + 2 * wRow), a3 = v128.load(q + 3 * wRow);
      let px = xc;
      let pg = gStart + (<usize>co << 2);
      for (let j = 0; j < len; j++) {
        const g0 = v128.load(pg);
        a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(px), g0));
        a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(px, 4), g0));
        a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(px, 8), g0));
        a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(px, 12), g0));
        px += xStep;
        pg += gStep;
      }
      v128.store(q, a0); v128.store(q + wRow, a1); v128.store(q + 2 * wRow, a2); v128.store(q + 3 * wRow, a3);
    }
    for (; co < cout; co++) scalarDot(xc, gStart + (<usize>co << 2), wc + (<usize>co << 2), len, xStep, gStep, 4, wRow);
  }
  for (; ci < cin; ci++) {
    const xc = xStart + (<usize>ci << 2);
    const wc = wTap + (<usize>(ci * cout) << 2);
    let co = 0;
    for (; co + 16 <= cout; co += 16) {
      const q = wc + (<usize>co << 2);
      let a0 = v128.load(q), a1 = v128.load(q, 16), a2 = v128.load(q, 32), a3 = v128.load(q, 48);
      let px = xc;
      let pg = gStart + (<usize>co << 2);
      for (let j = 0; j < len; j++) {
        const x0 = v128.load32_splat(px);
        a0 = f32x4.add(a0, f32x4.mul(x0, v128.load(pg)));
        a1 = f32x4.add(a1, f32x4.mul(x0, v128.load(pg, 16)));
        a2 = f32x4.add(a2, f32x4.mul(x0, v128.load(pg, 32)));
        a3 = f32x4.add(a3, f32x4.mul(x0, v128.load(pg, 48)));
        px += xStep;
        pg += gStep;
      }
      v128.store(q, a0); v128.store(q, a1, 16); v128.store(q, a2, 32); v128.store(q, a3, 48);
    }
    for (; co + 4 <= cout; co += 4) {
      const q = wc + (<usize>co << 2);
      let a0 = v128.load(q);
      let px = xc;
      let pg = gStart + (<usize>co << 2);
      for (let j = 0; j < len; j++) {
        a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(px), v128.load(pg)));
        px += xStep;
        pg += gStep;
      }
      v128.store(q, a0);
    }
    for (; co < cout; co++) scalarDot(xc, gStart + (<usize>co << 2), wc + (<usize>co << 2), len, xStep, gStep, 1, 0);
  }
}

// @ts-ignore: decorator
@inline
function rowTilesByInput(xStart: usize, gStart: usize, wTap: usize, len: i32, cin: i32, cout: i32, xStep: usize, gStep: usize): void {
  // cout < 4: dW[ci, co] for 4 (or 16) input channels at a time; dW is [ci][co], so the lanes
  // are gathered from and scattered to stride-cout slots.
  for (let co = 0; co < cout; co++) {
    const gc = gStart + (<usize>co << 2);
    let ci = 0;
    for (; ci + 4 <= cin; ci += 4) {
      let a0 = f32x4.splat(0);
      let px = xStart + (<usize>ci << 2);
      let pg = gc;
      for (let j = 0; j < len; j++) {
        a0 = f32x4.add(a0, f32x4.mul(v128.load(px), v128.load32_splat(pg)));
        px += xStep;
        pg += gStep;
      }
      const q = wTap + (<usize>(ci * cout + co) << 2);
      const s = <usize>cout << 2;
      store<f32>(q, load<f32>(q) + f32x4.extract_lane(a0, 0));
      store<f32>(q + s, load<f32>(q + s) + f32x4.extract_lane(a0, 1));
      store<f32>(q + 2 * s, load<f32>(q + 2 * s) + f32x4.extract_lane(a0, 2));
      store<f32>(q + 3 * s, load<f32>(q + 3 * s) + f32x4.extract_lane(a0, 3));
    }
    for (; ci < cin; ci++) scalarDot(xStart + (<usize>ci << 2), gc, wTap + (<usize>(ci * cout + co) << 2), len, xStep, gStep, 1, 0);
  }
}

/** dW slots `rows` apart (input channels ci..ci+rows−1, one output channel): scalar sums. */
function scalarDot(xc: usize, gc: usize, q: usize, len: i32, xStep: usize, gStep: usize, rows: i32, wRow: usize): void {
  for (let r = 0; r < rows; r++) {
    let a: f32 = 0;
    let px = xc + (<usize>r << 2);
    let pg = gc;
    for (let j = 0; j < len; j++) {
      a += load<f32>(px) * load<f32>(pg);
      px += xStep;
      pg += gStep;
    }
    const p = q + <usize>r * wRow;
    store<f32>(p, load<f32>(p) + a);
  }
}

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

/** [Σ a, Σ b, Σ c, Σ d] over each vector's lanes: a 4×4 transpose-add. */
// @ts-ignore: decorator
@inline
function sum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 2, 6), v128.shuffle<f32>(a, b, 1, 5, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 2, 6), v128.shuffle<f32>(c, d, 1, 5, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/** The co ≥ co4 remainder of four filter rows' dot products with one dy row (zero if none). */
// @ts-ignore: decorator
@inline
function tail4(g: usize, w0: usize, co4: i32, cout: i32, rowG: usize): v128 {
  let t = f32x4.splat(0);
  for (let co = co4; co < cout; co++) {
    const o = <usize>co << 2;
    const v: v128 = f32x4.splat(load<f32>(g + o));
    const k = f32x4(load<f32>(w0 + o), load<f32>(w0 + rowG + o), load<f32>(w0 + 2 * rowG + o), load<f32>(w0 + 3 * rowG + o));
    t = f32x4.add(t, f32x4.mul(v, k));
  }
  return t;
}

/**
 * Conv2DBackpropInput of a stride-1 conv (any filter, padding, dilation), gathered:
 * dx[n, y, x, ci] = Σ_(a,b) Σ_co dy[n, y + padTop − a·dilH, x + padLeft − b·dilW, co] · w[a, b, ci, co]
 * over the taps that land inside dy. Same register tiles as pointwiseInputGrad (2 positions ×
 * 4 input channels, dy and w both contiguous along co), summed over every tap before one store,
 * so dx is written once and no rotated filter is built or packed.
 */
export function conv2dInputGrad(
  dy: usize, w: usize, dx: usize,
  batch: i32, inH: i32, inW: i32, cin: i32, outH: i32, outW: i32, cout: i32,
  padTop: i32, padLeft: i32, kh: i32, kw: i32, dilH: i32, dilW: i32,
): void {
  const co4 = cout & ~3;
  const rowG = <usize>cout << 2;
  const rowX = <usize>cin << 2;
  const tapW = <usize>(cin * cout) << 2;
  for (let n = 0; n < batch; n++) {
    for (let y = 0; y < inH; y++) {
      const xRow = dx + <usize>((n * inH + y) * inW) * rowX;
      for (let x = 0; x < inW; x += 2) {
        const two = x + 1 < inW;
        let ci = 0;
        for (; ci + 4 <= cin; ci += 4) {
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
          let t0 = f32x4.splat(0), t1 = f32x4.splat(0);
          for (let fa = 0; fa < kh; fa++) {
            const i = y + padTop - fa * dilH;
            if (i < 0 || i >= outH) continue;
            const gRow = dy + <usize>((n * outH + i) * outW) * rowG;
            for (let fb = 0; fb < kw; fb++) {
              const j = x + padLeft - fb * dilW;
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
          if (two) v128.store(p + rowX, f32x4.add(sum4(b0, b1, b2, b3), t1));
        }
        for (; ci < cin; ci++) {
          const positions = two ? 2 : 1;
          for (let q = 0; q < positions; q++) {
            const xx = x + q;
            let s: f32 = 0;
            for (let fa = 0; fa < kh; fa++) {
              const i = y + padTop - fa * dilH;
              if (i < 0 || i >= outH) continue;
              for (let fb = 0; fb < kw; fb++) {
                const j = xx + padLeft - fb * dilW;
                if (j < 0 || j >= outW) continue;
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
