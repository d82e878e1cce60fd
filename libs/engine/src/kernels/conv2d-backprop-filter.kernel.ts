import * as tf from '@tensorflow/tfjs';
import { KernelArgs, asTensor4D, ConvAttrs, convGeometry, readWindow, validConv } from './conv-geometry';

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
    return conv2dBackpropFilterNHWC(x, dy, a.filterShape, a);
  });
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilterKernel,
};
