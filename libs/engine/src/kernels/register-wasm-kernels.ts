import * as tf from '@tensorflow/tfjs';
import { batchMatMulConfig } from './batch-mat-mul.kernel';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.kernel';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.kernel';
import { depthwiseBackpropInputConfig } from './depthwise-backprop.kernel';
import { depthwiseFilterGradConfig } from './depthwise-filter-grad.kernel';
import { maxPoolGradConfig } from './max-pool-grad.kernel';
import { sumConfig } from './sum.kernel';

/**
 * Which Conv2DBackpropInput the wasm backend runs: 'auto' (ours, or tfjs's loop for the few
 * shapes where that measured faster), always ours ('conv2d'), or always tfjs's ('stock').
 */
export type BackpropInputImpl = 'auto' | 'conv2d' | 'stock';

// MaxPoolGrad replaces a stock kernel that measured ~5.5 ms per call on the MNIST shapes.
const OURS: tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseFilterGradConfig,
  depthwiseBackpropInputConfig,
  maxPoolGradConfig,
];

// tfjs's own kernel, captured the first time we replace it, and the configs built around it.
let stock: tf.KernelConfig | undefined;
let configs: Record<BackpropInputImpl, tf.KernelConfig> | undefined;
// Sum: ours for the bias-gradient case (SIMD), tfjs's own for everything else.
let sum: tf.KernelConfig | undefined;
// BatchMatMul: ours for one transposed operand (a dense layer's gradients, SIMD), tfjs's own
// (XNNPACK, or its loop) for everything else.
let matMul: tf.KernelConfig | undefined;
// What was registered under each kernel name before we first replaced it (null: nothing),
// so that the stock backend can be restored (the benchmark measures it).
const before = new Map<string, tf.KernelConfig | null>();

function replace(config: tf.KernelConfig): void {
  const current = tf.getKernel(config.kernelName, config.backendName);
  if (current === config) return;
  if (!before.has(config.kernelName)) before.set(config.kernelName, current ?? null);
  // registerKernel only warns on a duplicate; unregistering first keeps logs quiet.
  if (current) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/** tfjs-wasm's own kernel `name`, which ours wrap or stand beside (captured before we replace it). */
function stockKernel(name: string): tf.KernelConfig {
  const config = tf.getKernel(name, 'wasm');
  if (!config)
    throw new Error(
      `no stock wasm ${name} registered: import @tensorflow/tfjs-backend-wasm before registering kernels`,
    );
  return config;
}

/**
 * Registers the training kernels the wasm backend lacks. Safe to call more than once, and
 * before or after the wasm backend initialises. Import '@tensorflow/tfjs-backend-wasm' first,
 * so that its stock kernels exist to be replaced (and kept for the shapes they win).
 */
export function registerWasmTrainingKernels(opts: { backpropInput?: BackpropInputImpl } = {}): void {
  for (const config of OURS) replace(config);
  sum ??= sumConfig(stockKernel(tf.Sum));
  replace(sum);
  matMul ??= batchMatMulConfig(stockKernel(tf.BatchMatMul));
  replace(matMul);
  useConv2DBackpropInput(opts.backpropInput ?? 'auto');
}

/** Chooses the wasm Conv2DBackpropInput (benchmarks and checks compare them). */
export function useConv2DBackpropInput(impl: BackpropInputImpl): void {
  if (!configs) {
    const captured = stockKernel(tf.Conv2DBackpropInput);
    stock = captured;
    configs = { auto: conv2dBackpropInputConfig(captured), conv2d: conv2dBackpropInputConfig(), stock: captured };
  }
  replace(configs[impl]);
  // A stock kernel registered after the backend initialised has not bound its wasm function
  // yet; tfjs runs setup functions on setBackend, so do what it would.
  if (impl !== 'conv2d' && tf.getBackend() === 'wasm') stock?.setupFunc?.(tf.backend());
}

/**
 * Puts back what tfjs-backend-wasm registered itself (the benchmark's "stock wasm"): kernels
 * it lacks become missing again. `registerWasmTrainingKernels` undoes this.
 */
export function unregisterWasmTrainingKernels(): void {
  // A stock kernel replaced before the backend initialised never had its wasm function bound.
  const backend = tf.findBackend('wasm');
  for (const [name, config] of before) {
    if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
    if (!config) continue;
    tf.registerKernel(config);
    if (backend) config.setupFunc?.(backend);
  }
}
