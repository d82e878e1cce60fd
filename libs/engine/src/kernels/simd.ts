import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The AssemblyScript SIMD kernels (libs/engine/assembly/: one file per kernel, kernels.as the
 * module's entry), compiled by `npm run build` to dist/libs/engine/src/kernels/simd-kernels.wasm.
 * The module imports tfjs-wasm's own WebAssembly.Memory, so pointers are byte offsets of
 * tensors in the backend's heap (the `byteOffset` of `typedArrayFromHeap`) and the kernels work
 * in place with no copies. When the heap grows, emscripten grows that same Memory object, which
 * the module sees at once; only JS views detach, and the kernels take none.
 */
export interface SimdKernels {
  maxPoolGrad(
    x: number,
    dy: number,
    dx: number,
    batch: number,
    inH: number,
    inW: number,
    c: number,
    outH: number,
    outW: number,
    sH: number,
    sW: number,
    fh: number,
    fw: number,
    dh: number,
    dw: number,
    top: number,
    left: number,
  ): void;
  depthwiseFilterGrad(
    x: number,
    dy: number,
    dw: number,
    batch: number,
    inH: number,
    inW: number,
    c: number,
    outH: number,
    outW: number,
    sH: number,
    sW: number,
    padTop: number,
    padLeft: number,
    kh: number,
    kw: number,
    dilH: number,
    dilW: number,
  ): void;
  depthwiseInputGrad(
    dy: number,
    w: number,
    dx: number,
    batch: number,
    inH: number,
    inW: number,
    c: number,
    outH: number,
    outW: number,
    sH: number,
    sW: number,
    padTop: number,
    padLeft: number,
    kh: number,
    kw: number,
    dilH: number,
    dilW: number,
  ): void;
  pointwiseInputGrad(dy: number, w: number, dx: number, positions: number, cin: number, cout: number): void;
  conv2dInputGrad(
    dy: number,
    w: number,
    dx: number,
    batch: number,
    inH: number,
    inW: number,
    cin: number,
    outH: number,
    outW: number,
    cout: number,
    sH: number,
    sW: number,
    padTop: number,
    padLeft: number,
    kh: number,
    kw: number,
    dilH: number,
    dilW: number,
  ): void;
  sumRows(x: number, out: number, rows: number, c: number): void;
  conv2dFilterGrad(
    x: number,
    dy: number,
    dw: number,
    batch: number,
    inH: number,
    inW: number,
    cin: number,
    outH: number,
    outW: number,
    cout: number,
    sH: number,
    sW: number,
    padTop: number,
    padLeft: number,
    kh: number,
    kw: number,
    dilH: number,
    dilW: number,
  ): void;
}

// Next to this file once built; from sources (the specs), where the build put it.
export const SIMD_WASM_CANDIDATES = [
  join(__dirname, 'simd-kernels.wasm'),
  resolve(__dirname, '../../../../dist/libs/engine/src/kernels/simd-kernels.wasm'),
];

// The project's TypeScript libs (ES2022, no DOM) do not declare WebAssembly: the parts used.
type WasmModule = object;
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
const WebAssembly = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => WasmModule;
      Instance: new (module: WasmModule, imports: object) => { exports: object };
    };
  }
).WebAssembly;

let compiled: WasmModule | undefined;
let enabled = true;
// One instance per backend memory (a backend re-created after disposal has a new heap).
const instances = new WeakMap<object, SimdKernels | null>();

function module(): WasmModule | null {
  if (!compiled) {
    const path = SIMD_WASM_CANDIDATES.find((p) => existsSync(p));
    if (path) compiled = new WebAssembly.Module(readFileSync(path));
  }
  return compiled ?? null;
}

/**
 * The SIMD kernels bound to this wasm backend's heap, or null: turned off, not built, or the
 * backend's memory cannot be imported (the threaded build's shared memory) — callers then run
 * their JS path.
 */
export function simdKernels(backend: unknown): SimdKernels | null {
  if (!enabled) return null;
  const memory = (backend as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory as WasmMemory | undefined;
  // Duck-typed: under Jest the backend's WebAssembly is another realm's.
  if (!memory || typeof memory !== 'object' || !('buffer' in memory) || typeof memory.grow !== 'function') return null;
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    const mod = module();
    try {
      kernels = mod ? (new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as SimdKernels) : null;
    } catch {
      kernels = null; // e.g. a shared memory: the module imports an unshared one
    }
    instances.set(memory, kernels);
  }
  return kernels;
}

/** Whether the compiled module was found (the specs require it). */
export function simdKernelsBuilt(): boolean {
  return module() !== null;
}

/** Turns the SIMD kernels off (false) or back on: the benchmarks and checks compare both paths. */
export function useSimdKernels(on: boolean): void {
  enabled = on;
}
