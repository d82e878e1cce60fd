export { BACKEND_ORDER, BackendUnavailableError } from './backend-selection';
export type { BackendName, Engine, InitEngineOptions, ModuleLoader } from './backend-selection';
export { initEngine } from './init-engine';
export { registerWasmTrainingKernels, useConv2DBackpropInput } from './kernels/register-wasm-kernels';
export type { BackpropInputImpl } from './kernels/register-wasm-kernels';
