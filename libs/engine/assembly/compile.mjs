// Compiles the AssemblyScript SIMD kernels (the entry kernels.as and the one file per kernel it
// re-exports) to a .wasm next to the compiled engine kernels:
// dist/libs/engine/src/kernels/simd-kernels.wasm (libs/engine/src/kernels/simd.ts loads it from
// there, also when the specs run from sources). Called by tools/build.mjs;
// `node libs/engine/assembly/compile.mjs` runs it alone. ~1 s.
import asc from 'assemblyscript/asc';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
export const simdWasmPath = join(root, 'dist/libs/engine/src/kernels/simd-kernels.wasm');

// --importMemory: the kernels run over tfjs-wasm's heap. --runtime stub and --use abort=: no
// allocator, no abort strings, so the module has no data segment that would be written into
// that heap at instantiation (checked below). --noAssert: no bounds assertions in the loops.
const flags = ['--enable', 'simd', '--importMemory', '--runtime', 'stub', '--use', 'abort=', '--noAssert', '-O3'];

export async function compileSimdKernels() {
  const started = Date.now();
  // asc only reads .ts files: every .as file here is handed to it under that name (the entry's
  // `export { … } from './max-pool-grad'` asks for max-pool-grad.ts).
  const sources = {};
  for (const name of await readdir(here)) {
    if (name.endsWith('.as')) sources[name.replace(/\.as$/, '.ts')] = await readFile(join(here, name), 'utf8');
  }
  const outputs = {};
  const stderr = [];
  const { error } = await asc.main(['kernels.ts', ...flags, '--outFile', 'kernels.wasm', '--textFile', 'kernels.wat'], {
    readFile: (name) => sources[name] ?? null,
    writeFile: (name, contents) => {
      outputs[name] = contents;
    },
    listFiles: () => [],
    stdout: { write: () => true },
    stderr: { write: (chunk) => stderr.push(String(chunk)) },
  });
  if (error) throw new Error(`AssemblyScript compilation of libs/engine/assembly/*.as failed:\n${stderr.join('')}`);
  if (/\(data\b/.test(outputs['kernels.wat']))
    throw new Error(
      'the SIMD kernels compiled with a data segment: it would overwrite the tfjs-wasm heap at instantiation',
    );
  await mkdir(dirname(simdWasmPath), { recursive: true });
  // Written aside and renamed: parallel spec workers may compile at once, and a reader must never
  // see half a module.
  const partial = `${simdWasmPath}.${process.pid}.tmp`;
  await writeFile(partial, outputs['kernels.wasm']);
  await rename(partial, simdWasmPath);
  return { path: simdWasmPath, bytes: outputs['kernels.wasm'].length, ms: Date.now() - started };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { path, bytes, ms } = await compileSimdKernels();
  process.stdout.write(`compiled ${path} (${bytes} bytes) in ${ms} ms\n`);
}
