// Dense Conv2DBackpropFilter in wasm SIMD (src/kernels/conv2d-backprop-filter.kernel.ts calls it;
// see kernels.as for the module's rules), with the register tiles only it uses.

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
