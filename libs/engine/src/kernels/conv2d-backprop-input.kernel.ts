import * as tf from '@tensorflow/tfjs';
import { KernelArgs, asTensor4D, ConvAttrs, convGeometry, spreadForInputGradient } from './conv-geometry';

export interface Conv2DBackpropInputAttrs extends ConvAttrs {
  dataFormat?: 'NHWC' | 'NCHW';
  inputShape: [number, number, number, number];
}

/**
 * dx for an NHWC conv2d (also the forward pass of conv2dTranspose) as one stride-1 conv2d of
 * the zero-spread, padded dy with the filter rotated 180° and its in/out channels swapped.
 * The stock wasm kernel is a scalar loop; XNNPACK's conv is much faster even though, for
 * s > 1, most of its multiplications are by inserted zeros.
 */
export function conv2dBackpropInputNHWC(
  inputShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  attrs: ConvAttrs,
): tf.Tensor4D {
  const g = convGeometry(inputShape, filter.shape, attrs, false);
  const rotated = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]); // [kh, kw, Cout, Cin]
  const spread = spreadForInputGradient(dy, g);
  return tf.conv2d(spread, rotated, 1, 'valid', 'NHWC', [g.dilationHeight, g.dilationWidth]);
}

function conv2dBackpropInputKernel({ inputs, attrs }: KernelArgs): tf.Tensor {
  const a = attrs as unknown as Conv2DBackpropInputAttrs;
  return tf.tidy(() => {
    const filter = asTensor4D(inputs.filter, tf.Conv2DBackpropInput, 'filter');
    let dy = asTensor4D(inputs.dy, tf.Conv2DBackpropInput, 'dy');
    let inputShape = a.inputShape;
    if (a.dataFormat === 'NCHW') {
      dy = tf.transpose(dy, [0, 2, 3, 1]);
      const [n, c, h, w] = inputShape;
      inputShape = [n, h, w, c];
    }
    const dx = conv2dBackpropInputNHWC(inputShape, dy, filter, a);
    return a.dataFormat === 'NCHW' ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
  });
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInputKernel,
};
