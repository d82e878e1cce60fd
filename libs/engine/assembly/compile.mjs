// Compiles the AssemblyScript SIMD kernels (the entry kernels.as and the one file per kernel it
// re-exports) to a .wasm next to the compiled engine kernels:
// dist/libs/engine/src/kernels/simd-kernels.wasm (libs/engine/src/kernels/simd.ts loads it from
// there, also when the specs run from sources). Called by tools/build.mjs;
// `node libs/engine/assembly/compile.mjs` runs it alone. ~1 s.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileAssemblyScript, compileWhenRun } from '../../../tools/assemblyscript.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
export const simdWasmPath = join(root, 'dist/libs/engine/src/kernels/simd-kernels.wasm');

/** The kernels run over tfjs-wasm's heap (imported memory). */
export function compileSimdKernels() {
  return compileAssemblyScript({
    dir: here,
    entry: 'kernels',
    outPath: simdWasmPath,
    dataSegmentHarm: 'it would overwrite the tfjs-wasm heap at instantiation',
  });
}

await compileWhenRun(import.meta.url, compileSimdKernels);
