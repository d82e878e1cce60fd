import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { testOnlySetting } from '@trainyard/config';

/**
 * A stand-in for `@tensorflow/tfjs-node-gpu` where there is no GPU (CI), which initEngine loads in
 * its place only under the test-only TRAINYARD_TEST_FAKE_TFJS_NODE_GPU=1. What it keeps of the real
 * one is what the worker's GPU path depends on:
 * - it loads once per process: a second load, from another worker thread or after the module cache
 *   was cleared, throws, as the native binding fails to (tensorflow/tfjs#8388, #2079);
 * - it registers a backend named 'tensorflow' that says a GPU is in use (here running the cpu
 *   kernels), so the engine records the run as a `tensorflow-gpu` one;
 * - like TensorFlow's "Created device" line, it prints on stderr which device the process was
 *   pinned to (CUDA_VISIBLE_DEVICES) and whether memory growth is on;
 * - with TRAINYARD_TEST_FAKE_GPU_MEMORY_BYTES, its "GPU" runs out of memory as TensorFlow's does:
 *   an op whose output is larger throws ResourceExhausted's message.
 */

/** A process, told apart from a dead one with the same (reused) pid by its start time. */
function processIdentity(): string {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after "(comm) ": state is the 3rd field of the line, starttime the 22nd.
    return `${process.pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    return String(process.pid);
  }
}

// Worker threads share the process but not its module cache or globals: a file is what they share.
const marker = join(tmpdir(), `trainyard-fake-tfjs-node-gpu-${process.pid}`);
const identity = processIdentity();
let loadedBefore: string | undefined;
try {
  loadedBefore = readFileSync(marker, 'utf8');
} catch {
  // Not loaded in this process yet.
}
if (loadedBefore === identity) {
  throw new Error(
    `fake tfjs-node-gpu: the binding is already loaded in process ${process.pid} (like the real one, it loads once per process: "Module did not self-register")`,
  );
}
writeFileSync(marker, identity);
if (isMainThread) process.once('exit', () => rmSync(marker, { force: true }));

if (!tf.findBackendFactory('tensorflow')) {
  const cpu = tf.findBackendFactory('cpu');
  if (!cpu) throw new Error('fake tfjs-node-gpu: the cpu backend is not registered');
  const memoryBytes = Number(testOnlySetting('fakeGpuMemoryBytes') ?? Number.POSITIVE_INFINITY);
  for (const kernel of tf.getKernelsForBackend('cpu'))
    tf.registerKernel({
      ...kernel,
      backendName: 'tensorflow',
      kernelFunc: withinMemory(kernel.kernelFunc, memoryBytes),
    });
  tf.registerBackend('tensorflow', () =>
    Object.assign(cpu() as tf.KernelBackend, { isGPUPackage: true, isUsingGpuDevice: true }),
  );
}

process.stderr.write(
  `fake tfjs-node-gpu: loaded in process ${process.pid} with CUDA_VISIBLE_DEVICES=${process.env['CUDA_VISIBLE_DEVICES'] ?? '(unset)'} ` +
    `TF_FORCE_GPU_ALLOW_GROWTH=${process.env['TF_FORCE_GPU_ALLOW_GROWTH'] ?? '(unset)'}\n`,
);

/** `kernel`, refusing an output past `bytes` (4 a value) as TensorFlow's GPU allocator does. */
function withinMemory(kernel: tf.KernelFunc, bytes: number): tf.KernelFunc {
  if (!Number.isFinite(bytes)) return kernel;
  return (args) => {
    const out = kernel(args) as tf.TensorInfo | tf.TensorInfo[];
    const outputs = Array.isArray(out) ? out : [out];
    const tooLarge = outputs.find((info) => tf.util.sizeFromShape(info.shape) * 4 > bytes);
    if (!tooLarge) return out;
    for (const info of outputs) (args.backend as tf.KernelBackend).disposeData(info.dataId);
    throw new Error(
      `OOM when allocating tensor with shape[${tooLarge.shape.join(',')}] and type float on /job:localhost/replica:0/task:0/device:GPU:0 by allocator GPU_0_bfc`,
    );
  };
}

/** The real package re-exports @tensorflow/tfjs; the engine checks that it is the same copy. */
export const Tensor = tf.Tensor;
