// Compiles the augmentation's AssemblyScript SIMD kernel (affine-resample.as) to a .wasm next to the
// compiled datasets code: dist/libs/datasets/src/affine-resample.wasm
// (libs/datasets/src/affine-transform-wasm.ts loads it from there, also when the specs run from
// sources). Called by tools/build.mjs; `node libs/datasets/assembly/compile.mjs` runs it alone. ~1 s.
// The same pattern as libs/engine/assembly/compile.mjs.
import asc from 'assemblyscript/asc';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
export const affineWasmPath = join(root, 'dist/libs/datasets/src/affine-resample.wasm');

// --importMemory: the loader creates and grows the memory and owns all of it. --runtime stub and
// --use abort=: no allocator, no abort strings, so no data segment (checked below). --noAssert: no
// bounds assertions in the loops.
const flags = ['--enable', 'simd', '--importMemory', '--runtime', 'stub', '--use', 'abort=', '--noAssert', '-O3'];

export async function compileAffineKernel() {
  const started = Date.now();
  // asc only reads .ts files: the .as source is handed to it under that name.
  const sources = { 'affine-resample.ts': await readFile(join(here, 'affine-resample.as'), 'utf8') };
  const outputs = {};
  const stderr = [];
  const { error } = await asc.main(
    ['affine-resample.ts', ...flags, '--outFile', 'affine-resample.wasm', '--textFile', 'affine-resample.wat'],
    {
      readFile: (name) => sources[name] ?? null,
      writeFile: (name, contents) => {
        outputs[name] = contents;
      },
      listFiles: () => [],
      stdout: { write: () => true },
      stderr: { write: (chunk) => stderr.push(String(chunk)) },
    },
  );
  if (error)
    throw new Error(
      `AssemblyScript compilation of libs/datasets/assembly/affine-resample.as failed:\n${stderr.join('')}`,
    );
  if (/\(data\b/.test(outputs['affine-resample.wat']))
    throw new Error(
      'the augmentation kernel compiled with a data segment: it would overwrite the images the loader copies in',
    );
  await mkdir(dirname(affineWasmPath), { recursive: true });
  // Written aside and renamed: parallel spec workers may compile at once, and a reader must never
  // see half a module.
  const partial = `${affineWasmPath}.${process.pid}.tmp`;
  await writeFile(partial, outputs['affine-resample.wasm']);
  await rename(partial, affineWasmPath);
  return { path: affineWasmPath, bytes: outputs['affine-resample.wasm'].length, ms: Date.now() - started };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { path, bytes, ms } = await compileAffineKernel();
  process.stdout.write(`compiled ${path} (${bytes} bytes) in ${ms} ms\n`);
}
