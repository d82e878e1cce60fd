import * as tf from '@tensorflow/tfjs';
import { KernelArgs } from './conv-geometry';
import { simdKernels } from './simd';
import { WasmHeapBackend } from './wasm-heap';

interface SumAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/**
 * The rows × channels split of a Sum that reduces every axis but the last of a float32 tensor
 * (the bias gradient: [N, H, W, C] → [C], [N, C] → [C]), or null for any other Sum.
 */
export function leadingAxesSum(x: tf.TensorInfo, axis: number | number[]): { rows: number; c: number } | null {
  const rank = x.shape.length;
  if (x.dtype !== 'float32' || rank < 2) return null;
  const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
  if (axes.length !== rank - 1 || axes.some((a, i) => a !== i)) return null;
  const c = x.shape[rank - 1];
  const rows = tf.util.sizeFromShape(x.shape) / Math.max(c, 1);
  if (c === 0 || rows === 0) return null;
  return { rows, c };
}

/**
 * Sum for wasm: the bias-gradient case (leading axes of a float32 tensor) by the SIMD kernel
 * `sumRows`, in place on the heap; every other Sum, and every Sum without the SIMD module, by
 * tfjs-wasm's own kernel, which transposes the channels to the front and then reduces rows.
 */
export function sumConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Sum,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: ((args: KernelArgs) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      const { axis, keepDims } = args.attrs as unknown as SumAttrs;
      const split = leadingAxesSum(x, axis);
      const simd = split ? simdKernels(args.backend) : null;
      if (!split || !simd) return stock.kernelFunc(args);
      const rank = x.shape.length;
      const b = args.backend as WasmHeapBackend;
      // keepDims: [1, …, 1, C], as tfjs's expandShapeToKeepDim gives.
      const out = b.makeOutput(keepDims ? [...new Array<number>(rank - 1).fill(1), split.c] : [split.c], 'float32');
      const at = (t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset;
      simd.sumRows(at(x), at(out), split.rows, split.c);
      return out;
    }) as unknown as tf.KernelFunc,
  };
}
