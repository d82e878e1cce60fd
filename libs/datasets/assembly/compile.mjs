// Compiles the augmentation's AssemblyScript SIMD kernel (affine-resample.as) to a .wasm next to the
// compiled datasets code: dist/libs/datasets/src/affine-resample.wasm
// (libs/datasets/src/affine-transform-wasm.ts loads it from there, also when the specs run from
// sources). Called by tools/build.mjs; `node libs/datasets/assembly/compile.mjs` runs it alone. ~1 s.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileAssemblyScript, compileWhenRun } from '../../../tools/assemblyscript.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
export const affineWasmPath = join(root, 'dist/libs/datasets/src/affine-resample.wasm');

/** The loader creates and grows the memory and owns all of it (imported memory). */
export function compileAffineKernel() {
  return compileAssemblyScript({
    dir: here,
    entry: 'affine-resample',
    outPath: affineWasmPath,
    dataSegmentHarm: 'it would overwrite the images the loader copies in',
  });
}

await compileWhenRun(import.meta.url, compileAffineKernel);
