import * as tf from '@tensorflow/tfjs';
import { KernelArgs, asTensor4D, ConvAttrs, ConvGeometry, convGeometry, readWindow, validConv } from './conv-geometry';

/** Which dW form runs: measured choice ('auto'), or forced (the checks cover both). */
export type BackpropFilterImpl = 'auto' | 'conv' | 'matmul';
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
      const tap = tf.slice(channelsFirst, [0, 0, a * g.dilationHeight, b * g.dilationWidth], [cin, g.batch, g.outHeight, g.outWidth]);
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

function conv2dBackpropFilterKernel({ inputs, attrs }: KernelArgs): tf.Tensor {
  const a = attrs as unknown as Conv2DBackpropFilterAttrs;
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
    if (matMulMode === 'auto' ? preferMatMul(g) : matMulMode === 'matmul' && g.strideHeight === 1 && g.strideWidth === 1) {
      return conv2dBackpropFilterByMatMul(x, dy, a.filterShape, a);
    }
    return conv2dBackpropFilterNHWC(x, dy, a.filterShape, a);
  });
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilterKernel,
};
