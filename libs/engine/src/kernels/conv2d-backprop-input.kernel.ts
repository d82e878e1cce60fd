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

/**
 * Where the stock loop beats XNNPACK (measured, see README): dx with very few channels, where
 * the conv's output-channel dimension is too narrow for XNNPACK's micro-kernels, worse when
 * stride zeros multiply the work. The stock kernel ignores dilation, so never for dilated.
 */
export function stockIsFaster(attrs: Conv2DBackpropInputAttrs): boolean {
  const dilations = attrs.dilations ?? 1;
  if (dilations !== 1 && !(Array.isArray(dilations) && dilations.every((d) => d === 1))) return false;
  const inChannels = attrs.dataFormat === 'NCHW' ? attrs.inputShape[1] : attrs.inputShape[3];
  const strided = attrs.strides !== 1 && !(Array.isArray(attrs.strides) && attrs.strides.every((s) => s === 1));
  return inChannels <= (strided ? 3 : 1);
}

/**
 * Our Conv2DBackpropInput; with `stock` (tfjs's wasm kernel, captured before we replaced it)
 * it hands the shapes where that is faster to it. The stock setup (binding its wasm
 * function) must still run when the backend initialises, so we carry its setupFunc.
 */
export function conv2dBackpropInputConfig(stock?: tf.KernelConfig): tf.KernelConfig {
  if (!stock) return { kernelName: tf.Conv2DBackpropInput, backendName: 'wasm', kernelFunc: conv2dBackpropInputKernel };
  return {
    kernelName: tf.Conv2DBackpropInput,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: (args) =>
      stockIsFaster(args.attrs as unknown as Conv2DBackpropInputAttrs) ? stock.kernelFunc(args) : conv2dBackpropInputKernel(args),
  };
}
