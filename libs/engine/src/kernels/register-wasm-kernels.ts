import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.kernel';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.kernel';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop.kernel';

/** Which Conv2DBackpropInput the wasm backend runs: ours (conv2d of the spread dy) or tfjs's loop. */
export type BackpropInputImpl = 'conv2d' | 'stock';

const OURS: tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
];

// The stock kernel, kept when we replace it, so benchmarks and checks can put it back.
let stockBackpropInput: tf.KernelConfig | undefined;

function replace(config: tf.KernelConfig): void {
  const current = tf.getKernel(config.kernelName, config.backendName);
  if (current?.kernelFunc === config.kernelFunc) return;
  // registerKernel only warns on a duplicate; unregistering first keeps logs quiet.
  if (current) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/**
 * Registers the training kernels the wasm backend lacks. Safe to call more than once, and
 * before or after the wasm backend initialises (none of ours needs a wasm setup function).
 * Requires '@tensorflow/tfjs-backend-wasm' to have been imported, so that the stock kernels
 * are registered before we replace one.
 */
export function registerWasmTrainingKernels(opts: { backpropInput?: BackpropInputImpl } = {}): void {
  for (const config of OURS) replace(config);
  useConv2DBackpropInput(opts.backpropInput ?? 'conv2d');
}

/**
 * Chooses the wasm Conv2DBackpropInput. Ours measured about 12x faster than the stock loop
 * at stride 1 (README has the numbers); 'stock' exists to measure that claim again.
 */
export function useConv2DBackpropInput(impl: BackpropInputImpl): void {
  const current = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  if (current && current.kernelFunc !== conv2dBackpropInputConfig.kernelFunc) stockBackpropInput = current;
  if (impl === 'conv2d') return replace(conv2dBackpropInputConfig);
  if (!stockBackpropInput) throw new Error('the stock wasm Conv2DBackpropInput was never registered (import @tensorflow/tfjs-backend-wasm first)');
  replace(stockBackpropInput);
}
