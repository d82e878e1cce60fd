import type * as tf from '@tensorflow/tfjs';

/**
 * The parts of tfjs-backend-wasm's BackendWasm our JS kernels use (public methods of its
 * class, declared here so we do not import its internals): tensors live in the wasm heap,
 * and a JS kernel can read and write them in place through typed-array views. JS loops suit
 * memory-bound kernels with little arithmetic (pool gradients); XNNPACK keeps the convs.
 */
export interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * Views of kernel inputs and a freshly allocated output. The output is allocated first:
 * allocating can grow the wasm memory, which detaches every view taken before.
 */
export function heapViews(
  backend: unknown,
  inputs: tf.TensorInfo[],
  outShape: number[],
): { out: tf.TensorInfo; outView: Float32Array; inViews: Float32Array[] } {
  const b = backend as WasmHeapBackend;
  for (const t of inputs) if (t.dtype !== 'float32') throw new Error(`expected float32 input, got ${t.dtype}`);
  const out = b.makeOutput(outShape, 'float32');
  const outView = b.typedArrayFromHeap(out) as Float32Array;
  const inViews = inputs.map((t) => b.typedArrayFromHeap(t) as Float32Array);
  return { out, outView, inViews };
}
