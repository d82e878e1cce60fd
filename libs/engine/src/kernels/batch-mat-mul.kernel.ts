import * as tf from '@tensorflow/tfjs';
import { KernelArgs } from './conv-geometry';
import { simdKernels } from './simd';
import { WasmHeapBackend } from './wasm-heap';

interface BatchMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** One transposed matMul as our SIMD kernels see it: out[m, n] over the shared k, `batch` times. */
export interface TransposedMatMul {
  /** Which operand is transposed: 'b' is A·Bᵀ (a dense layer's dx), 'a' is Aᵀ·B (its dW). */
  transposed: 'a' | 'b';
  m: number;
  n: number;
  k: number;
  batch: number;
  /** Whether each operand steps per batch (false: one matrix broadcast over the batch). */
  aSteps: boolean;
  bSteps: boolean;
  outShape: number[];
}

const sameDims = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * The float32 BatchMatMul with exactly one operand transposed, non-empty, whose batch
 * dimensions are equal or one side's are all 1; null for every other (tfjs's own kernel runs
 * those, and reports the malformed ones).
 */
export function transposedMatMul(a: tf.TensorInfo, b: tf.TensorInfo, attrs: BatchMatMulAttrs): TransposedMatMul | null {
  if (attrs.transposeA === attrs.transposeB || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  if (a.shape.length < 2 || b.shape.length < 2) return null;
  const [a0, a1] = a.shape.slice(-2);
  const [b0, b1] = b.shape.slice(-2);
  const m = attrs.transposeA ? a1 : a0;
  const k = attrs.transposeA ? a0 : a1;
  const n = attrs.transposeB ? b0 : b1;
  if ((attrs.transposeB ? b1 : b0) !== k || m * n * k === 0) return null;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  if (batchA !== 1 && batchB !== 1 && !sameDims(outerA, outerB)) return null;
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  return {
    transposed: attrs.transposeA ? 'a' : 'b',
    m,
    n,
    k,
    batch: Math.max(batchA, batchB),
    aSteps: batchA > 1,
    bSteps: batchB > 1,
    outShape: [...outer, m, n],
  };
}

/**
 * BatchMatMul for wasm. tfjs-wasm sends only the untransposed matMul to XNNPACK; a transposed
 * one (both gradients of every dense layer: dx = dy·Wᵀ, dW = xᵀ·dy) goes to its scalar loop,
 * which made BatchMatMul a top kernel of the autoencoders' dense bottleneck. Those run here, in
 * place on the heap, by the SIMD kernels that already compute the same products for pointwise
 * convs: A·Bᵀ is `pointwiseInputGrad` (positions m, input channels n, output channels k), Aᵀ·B
 * is `conv2dFilterGrad` of a 1×1 conv over a row of k positions. Everything else, and
 * everything without the SIMD module, goes to tfjs's own kernel.
 */
export function batchMatMulConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.BatchMatMul,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: ((args: KernelArgs) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const plan = transposedMatMul(a, b, args.attrs as unknown as BatchMatMulAttrs);
      const simd = plan ? simdKernels(args.backend) : null;
      if (!plan || !simd) return stock.kernelFunc(args);
      const heap = args.backend as WasmHeapBackend;
      const out = heap.makeOutput(plan.outShape, 'float32');
      const at = (t: tf.TensorInfo) => heap.typedArrayFromHeap(t).byteOffset;
      const { m, n, k } = plan;
      const [pa, pb, po] = [at(a), at(b), at(out)];
      for (let i = 0; i < plan.batch; i++) {
        const ai = pa + (plan.aSteps ? i * m * k * 4 : 0);
        const bi = pb + (plan.bSteps ? i * n * k * 4 : 0);
        const oi = po + i * m * n * 4;
        if (plan.transposed === 'b') simd.pointwiseInputGrad(ai, bi, oi, m, n, k);
        else simd.conv2dFilterGrad(ai, bi, oi, 1, 1, k, m, 1, k, n, 1, 1, 0, 0, 1, 1, 1, 1);
      }
      return out;
    }) as unknown as tf.KernelFunc,
  };
}
