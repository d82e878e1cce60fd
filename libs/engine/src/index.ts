export { BACKEND_ORDER, BackendUnavailableError } from './backend-selection';
export type { BackendName, Engine, InitEngineOptions, ModuleLoader } from './backend-selection';
export { initEngine } from './init-engine';
export {
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
  useConv2DBackpropInput,
} from './kernels/register-wasm-kernels';
export type { BackpropInputImpl } from './kernels/register-wasm-kernels';
// The switches the engine benchmarks (tools/bench/engine) compare paths with.
export { useConv2DBackpropFilter } from './kernels/conv2d-backprop-filter.kernel';
export type { BackpropFilterImpl } from './kernels/conv2d-backprop-filter.kernel';
export { useSimdKernels } from './kernels/simd';
