import * as tf from '@tensorflow/tfjs';
import { KernelArgs, asTensor4D, ConvAttrs, ConvGeometry, convGeometry, readWindow, validConv } from './conv-geometry';
import { simdKernels } from './simd';
import { WasmHeapBackend } from './wasm-heap';

/**
 * Which dW form runs: 'auto' (SIMD when it can run, else the measured choice between the
 * XNNPACK forms), or forced (the checks cover all). 'simd' falls back like 'auto'.
 */
export type BackpropFilterImpl = 'auto' | 'conv' | 'matmul' | 'simd';
let matMulMode: BackpropFilterImpl = 'auto';
export function useConv2DBackpropFilter(impl: BackpropFilterImpl): void {
  matMulMode = impl;
}

export interface Conv2DBackpropFilterAttrs extends ConvAttrs {
  dataFormat?: 'NHWC' | 'NCHW';
  filterShape: [number, number, number, number];
}

/**
 * dW for an NHWC conv2d, from ops the wasm backend has (it lacks this kernel, so conv nets
 * cannot train on it). The forward conv reads x[n, i*s + a*d, j*s + b*d, ci] for output (i, j)
 * and tap (a, b); summing x * dy over n, i, j is itself a convolution where the channels
 * (ci) play the batch, the batch (n) plays the channels, dy is the filter, and the forward
 * stride becomes the dilation. XNNPACK runs that as one ordinary conv.
 */
export function conv2dBackpropFilterNHWC(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  attrs: ConvAttrs,
): tf.Tensor4D {
  const g = convGeometry(x.shape, filterShape, attrs, false);
  const channelsAsBatch = tf.transpose(readWindow(x, g), [3, 1, 2, 0]); // [Cin, H, W, N]
  const dyAsFilter = tf.transpose(dy, [1, 2, 0, 3]); // [H', W', N, Cout]
  const dW = validConv(
    'conv2d',
    channelsAsBatch,
    dyAsFilter,
    [g.dilationHeight, g.dilationWidth],
    [g.strideHeight, g.strideWidth],
  ); // [Cin, kh, kw, Cout]
  return tf.transpose(dW, [1, 2, 0, 3]);
}

/**
 * dW for a stride-1 conv as one matMul: the input patches, channels first, [kh·kw·Cin, P]
 * (P = N·H'·W') times dy as [P, Cout]. tfjs-backend-wasm sends only untransposed, unbatched
 * matMuls to XNNPACK (the rest to a scalar loop), so x is transposed once to [Cin, N, H, W]
 * and each tap is a plain slice of it. Measured against the conv above (ms, this machine):
 * 1×1 convs 0.8–1.7 vs 3.6–9.0, 28×28 and 32×32 outputs 1.1–25 vs 4.2–37; it loses on
 * 14×14 outputs with 8–32 channels (4–11 vs 1.6–8.8), hence `preferMatMul`.
 */
export function conv2dBackpropFilterByMatMul(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  attrs: ConvAttrs,
): tf.Tensor4D {
  const g = convGeometry(x.shape, filterShape, attrs, false);
  if (g.strideHeight !== 1 || g.strideWidth !== 1) throw new Error('conv2dBackpropFilterByMatMul: stride 1 only');
  const [kh, kw, cin, cout] = filterShape;
  const positions = g.batch * g.outHeight * g.outWidth;
  const channelsFirst = tf.transpose(readWindow(x, g), [3, 0, 1, 2]); // [Cin, N, H, W]
  const rows: tf.Tensor2D[] = [];
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++) {
      const tap = tf.slice(
        channelsFirst,
        [0, 0, a * g.dilationHeight, b * g.dilationWidth],
        [cin, g.batch, g.outHeight, g.outWidth],
      );
      rows.push(tf.reshape(tap, [cin, positions]));
    }
  const patches = rows.length === 1 ? rows[0] : tf.concat(rows, 0); // row (a·kw + b)·Cin + ci
  return tf.reshape(tf.matMul(patches, tf.reshape(dy, [positions, cout])), filterShape);
}

/** Where the matMul form measured faster than the conv form (see above). */
export function preferMatMul(g: ConvGeometry): boolean {
  if (g.strideHeight !== 1 || g.strideWidth !== 1) return false;
  return (g.filterHeight === 1 && g.filterWidth === 1) || g.outHeight * g.outWidth >= 400;
}

/**
 * dW by the wasm SIMD kernel (libs/engine/assembly/conv2d-filter-grad.as), in place on the heap; NHWC.
 * Register tiles of dW summed along each output row: no transposes, no packing of dy. It
 * measured faster than both XNNPACK forms on every shape tried (kernel-bench.ts: the reference
 * models' 11 dW shapes 1.2–12× over several runs, 128–512-channel 3×3 and 1×1 convs 1.1–2.7×), so 'auto' takes
 * it for every NHWC call; the XNNPACK forms remain for NCHW and where the SIMD module cannot
 * run (not built, or the threaded build's shared memory).
 */
function conv2dBackpropFilterSimd({ inputs, backend, attrs }: KernelArgs, g: ConvGeometry): tf.TensorInfo | null {
  const simd = simdKernels(backend);
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  if (!simd || x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const [kh, kw, cin, cout] = (attrs as unknown as Conv2DBackpropFilterAttrs).filterShape;
  const b = backend as WasmHeapBackend;
  const out = b.makeOutput([kh, kw, cin, cout], 'float32');
  const at = (t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset;
  simd.conv2dFilterGrad(
    at(x),
    at(dy),
    at(out),
    g.batch,
    g.inHeight,
    g.inWidth,
    cin,
    g.outHeight,
    g.outWidth,
    cout,
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

function conv2dBackpropFilterKernel(args: KernelArgs): tf.TensorInfo {
  const { inputs, attrs } = args;
  const a = attrs as unknown as Conv2DBackpropFilterAttrs;
  if (a.dataFormat !== 'NCHW' && (matMulMode === 'simd' || matMulMode === 'auto')) {
    const out = conv2dBackpropFilterSimd(
      args,
      convGeometry((inputs.x as tf.TensorInfo).shape, a.filterShape, a, false),
    );
    if (out) return out;
  }
  // The engine accepts a Tensor returned by a kernel as is (it checks `rank`); it is created
  // under the caller's scope, and tidy disposes every intermediate, so nothing leaks.
  return tf.tidy(() => {
    let x = asTensor4D(inputs.x, tf.Conv2DBackpropFilter, 'x');
    let dy = asTensor4D(inputs.dy, tf.Conv2DBackpropFilter, 'dy');
    if (a.dataFormat === 'NCHW') {
      x = tf.transpose(x, [0, 2, 3, 1]);
      dy = tf.transpose(dy, [0, 2, 3, 1]);
    }
    const g = convGeometry(x.shape, a.filterShape, a, false);
    if (
      matMulMode === 'auto' || matMulMode === 'simd'
        ? preferMatMul(g)
        : matMulMode === 'matmul' && g.strideHeight === 1 && g.strideWidth === 1
    ) {
      return conv2dBackpropFilterByMatMul(x, dy, a.filterShape, a);
    }
    return conv2dBackpropFilterNHWC(x, dy, a.filterShape, a);
  });
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilterKernel as unknown as tf.KernelFunc,
};
