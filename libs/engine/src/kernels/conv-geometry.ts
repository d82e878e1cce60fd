import * as tf from '@tensorflow/tfjs';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/** Where a forward NHWC convolution reads its input: everything the backprop kernels need. */
export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

export interface ConvAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Geometry of the forward convolution, computed by tfjs's own `computeConv2DInfo` so that
 * 'same' / 'valid' / explicit padding and rounding agree exactly with the forward kernel.
 * `Conv2DBackprop*` carry no `dilations` attr (tfjs refuses dilated conv gradients today);
 * we honour one when present so the kernels stay correct if that changes.
 */
export function convGeometry(
  inShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvAttrs,
  depthwise: boolean,
): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * Pads (positive) or crops (negative) the two spatial axes of an NHWC tensor.
 * Backprop windows can need either: 'same' pads, while rows a strided forward conv never
 * read must be dropped.
 */
export function padOrCrop(
  x: tf.Tensor4D,
  [top, bottom]: [number, number],
  [left, right]: [number, number],
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  let y = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const begin = [0, Math.max(0, -top), Math.max(0, -left), 0];
    const size = [n, h - begin[1] - Math.max(0, -bottom), w - begin[2] - Math.max(0, -right), c];
    y = tf.slice(y, begin, size);
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    const p = (v: number) => Math.max(0, v);
    y = tf.pad(y, [
      [0, 0],
      [p(top), p(bottom)],
      [p(left), p(right)],
      [0, 0],
    ]);
  }
  return y;
}

/**
 * Zero insertion for strided backprop: [N, H, W, C] -> [N, H*sh, W*sw, C] with each input
 * element followed by (s-1) zeros. The trailing zeros past the last element are left for
 * the caller to crop (it pads or crops the borders anyway).
 */
export function insertZeros(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  const spread = tf.pad(tf.reshape(dy, [n, h, 1, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return tf.reshape(spread, [n, h * sh, w * sw, c]);
}

/**
 * The forward conv's input window as it was read: padded for 'same', cropped of the rows and
 * columns a stride skipped past, so a valid conv over it has exactly the filter's extent.
 */
export function readWindow(x: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const rowsRead = (g.outHeight - 1) * g.strideHeight + (g.filterHeight - 1) * g.dilationHeight + 1;
  const colsRead = (g.outWidth - 1) * g.strideWidth + (g.filterWidth - 1) * g.dilationWidth + 1;
  return padOrCrop(x, [g.padTop, rowsRead - g.padTop - g.inHeight], [g.padLeft, colsRead - g.padLeft - g.inWidth]);
}

/**
 * dy laid out so that a stride-1 valid conv with the 180°-rotated filter yields dx: zeros
 * between elements for the stride, then borders such that every tap that touched an input
 * pixel lines up (a valid conv over R rows yields R - effH + 1 rows; we need inHeight).
 */
export function spreadForInputGradient(dy: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const spread = insertZeros(dy, g.strideHeight, g.strideWidth);
  const effH = (g.filterHeight - 1) * g.dilationHeight + 1;
  const effW = (g.filterWidth - 1) * g.dilationWidth + 1;
  const top = effH - 1 - g.padTop;
  const left = effW - 1 - g.padLeft;
  return padOrCrop(
    spread,
    [top, g.inHeight + effH - 1 - top - spread.shape[1]],
    [left, g.inWidth + effW - 1 - left - spread.shape[2]],
  );
}

/**
 * A valid `conv2d` / `depthwiseConv2d` that accepts strides and dilations both above 1,
 * which tfjs's ops refuse: the backprop-filter identity swaps them (stride <- forward
 * dilation, dilation <- forward stride), so a strided, dilated forward conv needs it.
 * Runs dilated at stride 1 and subsamples.
 */
export function validConv(
  kind: 'conv2d' | 'depthwise',
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: [number, number],
  dilations: [number, number],
): tf.Tensor4D {
  const run = (s: [number, number]) =>
    kind === 'conv2d'
      ? tf.conv2d(x, filter, s, 'valid', 'NHWC', dilations)
      : tf.depthwiseConv2d(x, filter, s, 'valid', 'NHWC', dilations);
  const stridesAreOne = strides[0] === 1 && strides[1] === 1;
  const dilationsAreOne = dilations[0] === 1 && dilations[1] === 1;
  if (stridesAreOne || dilationsAreOne) return run(strides);
  const full = run([1, 1]);
  return tf.stridedSlice(full, [0, 0, 0, 0], full.shape, [1, strides[0], strides[1], 1]) as tf.Tensor4D;
}

/**
 * Kernel inputs are normally Tensors (ops pass them through `runKernel`), but a backend may
 * call kernels with bare TensorInfos. Call inside `tf.tidy`: a wrapper made here adds a
 * reference to the data that the tidy scope releases.
 */
export function asTensor4D(info: tf.TensorInfo | undefined, kernel: string, name: string): tf.Tensor4D {
  if (info == null) throw new Error(`${kernel}: input '${name}' is missing`);
  if (info.shape.length !== 4) throw new Error(`${kernel}: input '${name}' must be rank 4, got [${info.shape}]`);
  if (info instanceof tf.Tensor) return info as tf.Tensor4D;
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor4D;
}

export type KernelArgs = Parameters<tf.KernelFunc>[0];
