// Depthwise Conv2D dW, multiplier 1, in wasm SIMD (src/kernels/depthwise-filter-grad.kernel.ts
// calls it; see kernels.as for the module's rules).

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
