import * as tf from '@tensorflow/tfjs';
import { asTensor4D, ConvAttrs, convGeometry, KernelArgs } from './conv-geometry';
import { depthwiseBackpropFilterNHWC } from './depthwise-backprop.kernel';
import { simdKernels } from './simd';
import { WasmHeapBackend } from './wasm-heap';

/**
 * Depthwise dW as one JS pass over the wasm heap: dW[a, b, c, m] = Σ x[n, i·s + a·d − pad,
 * j·s + b·d − pad, c] · dy[n, i, j, c·M + m]. Only kh·kw·C·M·N·H'·W' multiply-adds (2.4 M for
 * a MobileNet block at batch 32), with the channel loop innermost over contiguous memory.
 * The depthwise-conv form (depthwise-backprop.kernel) needs three transposes and a
 * depthwiseConv2d with an H'×W' filter over C·N channels, and measured ~3× slower on the
 * MobileNet shapes. Sums are kept in float64, then stored as float32.
 */
export function depthwiseFilterGradJs({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
  const g = convGeometry(x.shape, a.filterShape, a, true);
  const [kh, kw, c, m] = a.filterShape;
  const b = backend as WasmHeapBackend;
  const out = b.makeOutput([kh, kw, c, m], 'float32'); // before the views: may grow the heap
  const simd = m === 1 && x.dtype === 'float32' && dy.dtype === 'float32' ? simdKernels(backend) : null;
  if (simd) {
    // Multiplier 1 (MobileNet's): wasm SIMD in place on the heap (libs/engine/assembly/depthwise-filter-grad.as).
    const at = (t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset;
    simd.depthwiseFilterGrad(
      at(x),
      at(dy),
      at(out),
      g.batch,
      g.inHeight,
      g.inWidth,
      c,
      g.outHeight,
      g.outWidth,
      g.strideHeight,
      g.strideWidth,
      g.padTop,
      g.padLeft,
      kh,
      kw,
      g.dilationHeight,
      g.dilationWidth,
    );
    return out;
  }
  const xs = b.typedArrayFromHeap(x) as Float32Array;
  const gs = b.typedArrayFromHeap(dy) as Float32Array;
  const acc = new Float64Array(kh * kw * c * m);
  const cm = c * m;
  for (let n = 0; n < g.batch; n++)
    for (let i = 0; i < g.outHeight; i++)
      for (let fa = 0; fa < kh; fa++) {
        const iy = i * g.strideHeight - g.padTop + fa * g.dilationHeight;
        if (iy < 0 || iy >= g.inHeight) continue;
        for (let j = 0; j < g.outWidth; j++) {
          const gBase = ((n * g.outHeight + i) * g.outWidth + j) * cm;
          for (let fb = 0; fb < kw; fb++) {
            const ix = j * g.strideWidth - g.padLeft + fb * g.dilationWidth;
            if (ix < 0 || ix >= g.inWidth) continue;
            const xBase = ((n * g.inHeight + iy) * g.inWidth + ix) * c;
            const wBase = (fa * kw + fb) * cm;
            if (m === 1) {
              for (let ch = 0; ch < c; ch++) acc[wBase + ch] += xs[xBase + ch] * gs[gBase + ch];
            } else {
              for (let ch = 0; ch < c; ch++) {
                const v = xs[xBase + ch];
                for (let k = 0; k < m; k++) acc[wBase + ch * m + k] += v * gs[gBase + ch * m + k];
              }
            }
          }
        }
      }
  (b.typedArrayFromHeap(out) as Float32Array).set(acc);
  return out;
}

/** 'js' (default) or the depthwise-conv form; the checks run both. */
export type DepthwiseFilterImpl = 'js' | 'conv';
let impl: DepthwiseFilterImpl = 'js';
export function useDepthwiseBackpropFilter(choice: DepthwiseFilterImpl): void {
  impl = choice;
}

export const depthwiseFilterGradConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ((args: KernelArgs) => {
    if (impl === 'js') return depthwiseFilterGradJs(args);
    const a = args.attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    const name = tf.DepthwiseConv2dNativeBackpropFilter;
    return tf.tidy(() =>
      depthwiseBackpropFilterNHWC(
        asTensor4D(args.inputs.x, name, 'x'),
        asTensor4D(args.inputs.dy, name, 'dy'),
        a.filterShape,
        a,
      ),
    );
  }) as tf.KernelFunc,
};
