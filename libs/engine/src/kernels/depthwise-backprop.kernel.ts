import * as tf from '@tensorflow/tfjs';
import {
  KernelArgs,
  asTensor4D,
  ConvAttrs,
  convGeometry,
  readWindow,
  spreadForInputGradient,
  validConv,
} from './conv-geometry';
import { simdKernels } from './simd';
import { WasmHeapBackend } from './wasm-heap';

/**
 * The depthwise conv gradients wasm lacks, by the same identities as the dense ones
 * (see conv2d-backprop-filter / -input), built on `depthwiseConv2d` so channels never mix.
 * Filter: [kh, kw, C, M]; dy channel c*M + m belongs to input channel c.
 */
export function depthwiseBackpropFilterNHWC(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  attrs: ConvAttrs,
): tf.Tensor4D {
  const g = convGeometry(x.shape, filterShape, attrs, true);
  const [kh, kw, c, m] = filterShape;
  const n = g.batch;
  // One "image" whose channels are (c, n) pairs; dy as its depthwise filter, per (c, n), M
  // multipliers. The output's (c, n, m) channels then only need the batch summed out.
  const window = readWindow(x, g);
  const xAsImage = tf.reshape(tf.transpose(window, [1, 2, 3, 0]), [1, window.shape[1], window.shape[2], c * n]);
  const dy5 = tf.reshape(dy, [n, g.outHeight, g.outWidth, c, m]);
  const dyAsFilter = tf.reshape(tf.transpose(dy5, [1, 2, 3, 0, 4]), [g.outHeight, g.outWidth, c * n, m]);
  const perBatch = validConv(
    'depthwise',
    xAsImage as tf.Tensor4D,
    dyAsFilter as tf.Tensor4D,
    [g.dilationHeight, g.dilationWidth],
    [g.strideHeight, g.strideWidth],
  );
  return tf.sum(tf.reshape(perBatch, [kh, kw, c, n, m]), 3);
}

export function depthwiseBackpropInputNHWC(
  inputShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  attrs: ConvAttrs,
): tf.Tensor4D {
  const g = convGeometry(inputShape, filter.shape, attrs, true);
  const [kh, kw, c, m] = filter.shape;
  const rotated = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]) as tf.Tensor4D;
  const spread = spreadForInputGradient(dy, g);
  const perMultiplier = tf.depthwiseConv2d(spread, rotated, 1, 'valid', 'NHWC', [g.dilationHeight, g.dilationWidth]);
  if (m === 1) return perMultiplier;
  return tf.sum(tf.reshape(perMultiplier, [g.batch, g.inHeight, g.inWidth, c, m]), 4);
}

interface DepthwiseBackpropAttrs extends ConvAttrs {
  filterShape: [number, number, number, number];
  inputShape: [number, number, number, number];
}

export const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }: KernelArgs) => {
    const a = attrs as unknown as DepthwiseBackpropAttrs;
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const simd =
      filter.shape[3] === 1 && dy.dtype === 'float32' && filter.dtype === 'float32' ? simdKernels(backend) : null;
    if (simd) {
      // Multiplier 1 (MobileNet's): gathered over the taps in wasm SIMD, in place on the heap
      // (libs/engine/assembly/depthwise-input-grad.as), any stride, padding and dilation.
      const g = convGeometry(a.inputShape, filter.shape, a, true);
      const b = backend as WasmHeapBackend;
      const out = b.makeOutput(a.inputShape, 'float32');
      const at = (t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset;
      const [kh, kw, c] = filter.shape;
      simd.depthwiseInputGrad(
        at(dy),
        at(filter),
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
    // Other multipliers (and no SIMD module): the composite below.
    return tf.tidy(() =>
      depthwiseBackpropInputNHWC(
        a.inputShape,
        asTensor4D(inputs.dy, tf.DepthwiseConv2dNativeBackpropInput, 'dy'),
        asTensor4D(inputs.filter, tf.DepthwiseConv2dNativeBackpropInput, 'filter'),
        a,
      ),
    );
  },
};
