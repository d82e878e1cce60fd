import * as tf from '@tensorflow/tfjs';
import { heapViews } from './wasm-heap';
import { KernelArgs } from './conv-geometry';
import { simdKernels } from './simd';
import { WasmHeapBackend } from './wasm-heap';

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * MaxPoolGrad for wasm as one pass in JS over the wasm heap. The stock wasm kernel measured
 * ~5.5 ms for a 32×28×28×32 input (about a fifth of a training step of the MNIST
 * autoencoder); this finds each window's argmax once, per channel in a row, and routes dy
 * there. Same rule as tfjs's cpu kernel: the first maximum in row-major window order wins
 * (strictly greater replaces), padding is never chosen, and a window without any value
 * greater than -Infinity (all -Inf or NaN) passes no gradient. Overlapping windows add up.
 */
export function maxPoolGradWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const a = attrs as unknown as MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const simd = input.dtype === 'float32' && dy.dtype === 'float32' ? simdKernels(backend) : null;
  if (simd) {
    // The same rule in wasm SIMD, in place on the heap (libs/engine/assembly/max-pool-grad.as).
    const b = backend as WasmHeapBackend;
    const out = b.makeOutput(input.shape, 'float32');
    const at = (t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset;
    simd.maxPoolGrad(
      at(input),
      at(dy),
      at(out),
      batchSize,
      inHeight,
      inWidth,
      c,
      outHeight,
      outWidth,
      strideHeight,
      strideWidth,
      fh,
      fw,
      dh,
      dw,
      top,
      left,
    );
    return out;
  }
  const { out, outView: dx, inViews } = heapViews(backend, [input, dy], input.shape);
  const [x, g] = inViews;
  dx.fill(0);
  // Tap offsets of a window that lies wholly inside the input: the common case, where one
  // channel's argmax stays in registers across the taps (the loop below ran ~4× slower with
  // per-channel scratch arrays).
  const taps: number[] = [];
  for (let wy = 0; wy < fh; wy += dh) for (let wx = 0; wx < fw; wx += dw) taps.push((wy * inWidth + wx) * c);
  const offsets = Int32Array.from(taps);
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  for (let n = 0; n < batchSize; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = oy * strideHeight - top;
      for (let ox = 0; ox < outWidth; ox++) {
        const x0 = ox * strideWidth - left;
        const o = ((n * outHeight + oy) * outWidth + ox) * c;
        if (y0 >= 0 && x0 >= 0 && y0 + fh <= inHeight && x0 + fw <= inWidth) {
          const base = ((n * inHeight + y0) * inWidth + x0) * c;
          for (let d = 0; d < c; d++) {
            let bestAt = -1;
            let bestValue = -Infinity;
            for (let t = 0; t < offsets.length; t++) {
              const i = base + offsets[t] + d;
              if (x[i] > bestValue) {
                bestValue = x[i];
                bestAt = i;
              }
            }
            if (bestAt >= 0) dx[bestAt] += g[o + d];
          }
          continue;
        }
        // A window clipped by padding: only the taps inside the input compete.
        best.fill(-Infinity);
        at.fill(-1);
        for (let wy = 0; wy < fh; wy += dh) {
          const iy = y0 + wy;
          if (iy < 0 || iy >= inHeight) continue;
          for (let wx = 0; wx < fw; wx += dw) {
            const ix = x0 + wx;
            if (ix < 0 || ix >= inWidth) continue;
            const base = ((n * inHeight + iy) * inWidth + ix) * c;
            for (let d = 0; d < c; d++) {
              const v = x[base + d];
              if (v > best[d]) {
                best[d] = v;
                at[d] = base + d;
              }
            }
          }
        }
        for (let d = 0; d < c; d++) if (at[d] >= 0) dx[at[d]] += g[o + d];
      }
    }
  }
  return out;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGradWasm as unknown as tf.KernelFunc,
};
