// SIMD training kernels for the tfjs `wasm` backend, in AssemblyScript (compiled by
// libs/engine/assembly/compile.mjs at `npm run build`; the .as extension keeps tsc, eslint and
// swc off these files, which are not TypeScript they understand). One kernel per file; this
// entry names what the module exports (src/kernels/simd.ts declares the same signatures).
//
// The module imports tfjs-wasm's own WebAssembly.Memory (`env.memory`), so every pointer a
// kernel takes is a byte offset into the backend's heap: tensors are read and written in place,
// no copies. Built with `--runtime stub`, no static data and no allocation: a kernel must never
// write anywhere but the output tensor it is given (emscripten owns every other byte of the heap).
// All tensors are float32, NHWC, contiguous.
export { maxPoolGrad } from './max-pool-grad';
export { depthwiseFilterGrad } from './depthwise-filter-grad';
export { conv2dFilterGrad } from './conv2d-filter-grad';
export { pointwiseInputGrad } from './pointwise-input-grad';
export { conv2dInputGrad } from './conv2d-input-grad';
export { sumRows } from './sum-rows';
export { depthwiseInputGrad } from './depthwise-input-grad';
