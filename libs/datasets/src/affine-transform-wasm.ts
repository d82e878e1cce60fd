import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Affine } from './affine-transform';
import type { FillMode } from './augmentation.schema';
import type { ImageShape } from './image-decode';

/**
 * The augmentation's wasm SIMD kernel (libs/datasets/assembly/affine-resample.as), compiled by
 * `npm run build` to dist/libs/datasets/src/affine-resample.wasm. Its memory is this loader's
 * alone (one per thread): the source image is copied in at byte 0, the kernel writes the output
 * after it, and the output is copied out.
 */
interface Exports {
  affineResample(
    src: number,
    dst: number,
    h: number,
    w: number,
    ch: number,
    a: number,
    b: number,
    c: number,
    d: number,
    e: number,
    f: number,
    fill: number,
    cval: number,
    bright: number,
    scale: number,
  ): void;
  unitFromBytes(src: number, dst: number, n: number): void;
}

// Next to this file once built; from sources (the specs), where the build put it.
export const AFFINE_WASM_CANDIDATES = [
  join(__dirname, 'affine-resample.wasm'),
  resolve(__dirname, '../../../dist/libs/datasets/src/affine-resample.wasm'),
];

// The project's TypeScript libs (ES2022, no DOM) do not declare WebAssembly: the parts used.
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
const WebAssembly = (
  globalThis as unknown as {
    WebAssembly?: {
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object, imports: object) => { exports: object };
      Memory: new (descriptor: { initial: number }) => WasmMemory;
    };
  }
).WebAssembly;

const FILLS: Record<FillMode, number> = { nearest: 0, constant: 1, reflect: 2, wrap: 3 };
const PAGE = 65536;

/** Which kernel `affineTransformFast` runs, and why. */
export interface AugmentationKernelInfo {
  kernel: 'wasm-simd' | 'js';
  reason: string;
}

let state: { kernel: Exports; memory: WasmMemory } | null | undefined;
let info: AugmentationKernelInfo = { kernel: 'js', reason: 'not loaded yet' };
let forced: boolean | undefined;

function load(): { kernel: Exports; memory: WasmMemory } | null {
  // TRAINYARD_AUGMENT_KERNEL=js forces the JS pass (the benchmark's baseline; worker threads
  // inherit the environment).
  if (process.env.TRAINYARD_AUGMENT_KERNEL === 'js') {
    info = { kernel: 'js', reason: 'TRAINYARD_AUGMENT_KERNEL=js' };
    return null;
  }
  if (!WebAssembly) {
    info = { kernel: 'js', reason: 'no WebAssembly in this runtime' };
    return null;
  }
  const path = AFFINE_WASM_CANDIDATES.find((p) => existsSync(p));
  if (!path) {
    info = { kernel: 'js', reason: 'affine-resample.wasm not built (npm run build)' };
    return null;
  }
  try {
    // Compiling fails where WebAssembly SIMD is not supported: the JS pass runs instead.
    const module = new WebAssembly.Module(readFileSync(path));
    const memory = new WebAssembly.Memory({ initial: 1 });
    const kernel = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Exports;
    info = { kernel: 'wasm-simd', reason: path };
    return { kernel, memory };
  } catch (error) {
    info = { kernel: 'js', reason: `the wasm SIMD kernel did not load: ${(error as Error).message}` };
    return null;
  }
}

function loaded(): { kernel: Exports; memory: WasmMemory } | null {
  if (forced === false) return null;
  if (state === undefined) state = load();
  return state;
}

/** Which kernel runs augmentation in this thread: 'wasm-simd' when the module loads, else 'js' (with the reason). */
export function augmentationKernel(): AugmentationKernelInfo {
  loaded();
  return forced === false ? { kernel: 'js', reason: 'turned off (useWasmAugmentation(false))' } : info;
}

/** Turns the wasm kernel off (false) or back to automatic (true): the specs compare both paths. */
export function useWasmAugmentation(on: boolean): void {
  forced = on ? undefined : false;
}

/** Forgets the loaded module: the next call loads it again, reading TRAINYARD_AUGMENT_KERNEL anew (the specs' hook). */
export function reloadAugmentationKernel(): void {
  state = undefined;
  info = { kernel: 'js', reason: 'not loaded yet' };
}

/** Whether the compiled module is there to load (the specs require it). */
export function wasmAugmentationBuilt(): boolean {
  return AFFINE_WASM_CANDIDATES.some((p) => existsSync(p));
}

const align = (n: number) => (n + 63) & ~63;

/** Grows the memory to hold `bytes`; returns a fresh view (growing detaches the old one). */
function ensure(memory: WasmMemory, bytes: number): ArrayBuffer {
  const have = memory.buffer.byteLength;
  if (have < bytes) memory.grow(Math.ceil((bytes - have) / PAGE));
  return memory.buffer;
}

/**
 * `affineTransformFast` on the wasm SIMD kernel, when it is loaded: returns false (and does
 * nothing) otherwise. `src` is float32 pixels, or uint8 pixels that are divided by 255 first (as
 * the packed stream's raw pixels: the kernel does that conversion too).
 */
export function affineTransformWasm(
  src: Float32Array | Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  shape: ImageShape,
  m: Affine,
  fill: FillMode,
  cval: number,
  brightness: number,
  rescale: number,
): boolean {
  const s = loaded();
  if (!s) return false;
  const [h, w, ch] = shape;
  const length = h * w * ch;
  // Floats at 0 (+ slack for the 4-lane reads past the last pixel), output after, bytes after that.
  const dstAt = align(length * 4 + 64);
  const bytesAt = align(dstAt + length * 4 + 64);
  // BYTES_PER_ELEMENT, not instanceof: a Buffer from another realm (Jest's) is a Uint8Array too.
  const bytes = src.BYTES_PER_ELEMENT === 1;
  const buffer = ensure(s.memory, bytes ? bytesAt + length : bytesAt);
  if (bytes) {
    new Uint8Array(buffer, bytesAt, length).set(src.subarray(srcOffset, srcOffset + length));
    s.kernel.unitFromBytes(bytesAt, 0, length);
  } else {
    new Float32Array(buffer, 0, length).set(src.subarray(srcOffset, srcOffset + length));
  }
  const [a, b, c, d, e, f] = m;
  s.kernel.affineResample(0, dstAt, h, w, ch, a, b, c, d, e, f, FILLS[fill], cval, brightness, rescale);
  dst.set(new Float32Array(buffer, dstAt, length), dstOffset);
  return true;
}
