import * as tf from '@tensorflow/tfjs';
import { backpropInputByPhases } from './backprop-input-phases';
import { KernelArgs, asTensor4D, ConvAttrs, convGeometry, spreadForInputGradient } from './conv-geometry';
import { simdKernels } from './simd';
import { WasmHeapBackend } from './wasm-heap';

// Strided dx by output phases (default) or by zero insertion; the checks run both.
let phases = true;
export function useStridedBackpropInputPhases(on: boolean): void {
  phases = on;
}

export interface Conv2DBackpropInputAttrs extends ConvAttrs {
  dataFormat?: 'NHWC' | 'NCHW';
  inputShape: [number, number, number, number];
}

/**
 * dx for an NHWC conv2d (also the forward pass of conv2dTranspose) as one stride-1 conv2d of
 * the zero-spread, padded dy with the filter rotated 180° and its in/out channels swapped.
 * The stock wasm kernel is a scalar loop; XNNPACK's conv is much faster. For s > 1 (no
 * dilation) the output phases are computed apart instead (backprop-input-phases.ts), which
 * skips the multiplications by inserted zeros.
 */
export function conv2dBackpropInputNHWC(
  inputShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  attrs: ConvAttrs,
): tf.Tensor4D {
  const g = convGeometry(inputShape, filter.shape, attrs, false);
  const strided = g.strideHeight > 1 || g.strideWidth > 1;
  if (strided && g.dilationHeight === 1 && g.dilationWidth === 1 && phases) return backpropInputByPhases(dy, filter, g);
  const rotated = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]); // [kh, kw, Cout, Cin]
  const spread = spreadForInputGradient(dy, g);
  return tf.conv2d(spread, rotated, 1, 'valid', 'NHWC', [g.dilationHeight, g.dilationWidth]);
}

/**
 * dx of an NHWC conv (any stride: also conv2dTranspose's forward pass) by the wasm SIMD
 * kernels, in place on the heap, where the conv form rotates and transposes the filter into a
 * new tensor that XNNPACK packs every call, and the strided forms add zero-spreading or the
 * phases' slices, stacks and reshapes: a pointwise conv (1×1, stride 1, no padding) is dy · Wᵀ
 * (`pointwiseInputGrad`, libs/engine/assembly/pointwise-input-grad.as); other filters gather
 * over their taps, skipping those the stride does not reach (`conv2dInputGrad`,
 * conv2d-input-grad.as there). Null where it does not apply or cannot run.
 */
function backpropInputSimd({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | null {
  const a = attrs as unknown as Conv2DBackpropInputAttrs;
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  if (!inputSimd || a.dataFormat === 'NCHW' || dy.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  const g = convGeometry(a.inputShape, filter.shape, a, false);
  const strided = g.strideHeight !== 1 || g.strideWidth !== 1;
  if ((strided && !stridedSimd) || !simdInputGradPays(g.outChannels)) return null;
  const simd = simdKernels(backend);
  if (!simd) return null;
  const b = backend as WasmHeapBackend;
  const out = b.makeOutput(a.inputShape, 'float32');
  const at = (t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset;
  const pointwise =
    !strided &&
    g.filterHeight === 1 &&
    g.filterWidth === 1 &&
    g.padTop === 0 &&
    g.padLeft === 0 &&
    g.outHeight === g.inHeight &&
    g.outWidth === g.inWidth;
  if (pointwise)
    simd.pointwiseInputGrad(at(dy), at(filter), at(out), g.batch * g.inHeight * g.inWidth, g.inChannels, g.outChannels);
  else
    simd.conv2dInputGrad(
      at(dy),
      at(filter),
      at(out),
      g.batch,
      g.inHeight,
      g.inWidth,
      g.inChannels,
      g.outHeight,
      g.outWidth,
      g.outChannels,
      g.strideHeight,
      g.strideWidth,
      g.padTop,
      g.padLeft,
      g.filterHeight,
      g.filterWidth,
      g.dilationHeight,
      g.dilationWidth,
    );
  return out;
}

/**
 * Whether the SIMD gather beats the conv forms for dy with this many channels: its tiles sum
 * along dy's channels four at a time, so with fewer than 4 only their scalar tail runs, 5× slower
 * than XNNPACK's conv (the autoencoders' last conv, 1 or 3 channels: 28×28 8.1 → 1.4 ms,
 * 32×32 14.4 → 2.6 ms, kernel alone).
 */
export function simdInputGradPays(dyChannels: number): boolean {
  return dyChannels >= 4;
}

let inputSimd = true;
/** dx by the SIMD kernels (default) or by the conv and phase forms (the checks run both). */
export function useBackpropInputSimd(on: boolean): void {
  inputSimd = on;
}

let stridedSimd = true;
/** Strided dx by the SIMD gather (default) or by the phase form (the checks and the bench compare them). */
export function useStridedBackpropInputSimd(on: boolean): void {
  stridedSimd = on;
}

function conv2dBackpropInputKernel(args: KernelArgs): tf.TensorInfo {
  const { inputs, attrs } = args;
  const a = attrs as unknown as Conv2DBackpropInputAttrs;
  const simd = backpropInputSimd(args);
  if (simd) return simd;
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
 * Where the stock loop beats XNNPACK (measured, see README): dx with a single channel, where
 * the conv's output-channel dimension is too narrow for XNNPACK's micro-kernels (28×28×1
 * from 14×14×32 at stride 2: stock 1.0 ms, phases 1.95). With 3 channels the phase form
 * already wins (32×32×3 from 16×16×32: 2.7 vs 3.9). The stock kernel ignores dilation.
 */
export function stockIsFaster(attrs: Conv2DBackpropInputAttrs): boolean {
  const dilations = attrs.dilations ?? 1;
  if (dilations !== 1 && !(Array.isArray(dilations) && dilations.every((d) => d === 1))) return false;
  const inChannels = attrs.dataFormat === 'NCHW' ? attrs.inputShape[1] : attrs.inputShape[3];
  return inChannels <= 1;
}

/**
 * Our Conv2DBackpropInput; with `stock` (tfjs's wasm kernel, captured before we replaced it)
 * it hands the shapes where that is faster to it. The stock setup (binding its wasm
 * function) must still run when the backend initialises, so we carry its setupFunc.
 */
export function conv2dBackpropInputConfig(stock?: tf.KernelConfig): tf.KernelConfig {
  const ours = conv2dBackpropInputKernel as unknown as tf.KernelFunc;
  if (!stock) return { kernelName: tf.Conv2DBackpropInput, backendName: 'wasm', kernelFunc: ours };
  return {
    kernelName: tf.Conv2DBackpropInput,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: (args) =>
      stockIsFaster(args.attrs as unknown as Conv2DBackpropInputAttrs) ? stock.kernelFunc(args) : ours(args),
  };
}
