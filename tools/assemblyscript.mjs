// Compiles a folder of AssemblyScript SIMD kernels to one .wasm: libs/engine/assembly (the
// training kernels over tfjs-wasm's heap) and libs/datasets/assembly (the augmentation kernel).
import asc from 'assemblyscript/asc';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// --importMemory: the module's memory is the loader's (tfjs-wasm's heap, or one the loader grows).
// --runtime stub and --use abort=: no allocator, no abort strings, so the module has no data
// segment that would be written into that memory at instantiation (checked below). --noAssert: no
// bounds assertions in the loops.
const FLAGS = ['--enable', 'simd', '--importMemory', '--runtime', 'stub', '--use', 'abort=', '--noAssert', '-O3'];

/**
 * Compiles `dir`'s `<entry>.as` (and every other `.as` file there, which it may import) to
 * `outPath`, written aside and renamed: parallel spec workers may compile at once, and a reader
 * must never see half a module. `dataSegmentHarm` says what a data segment would break; the build
 * fails with it if the module has one.
 */
export async function compileAssemblyScript({ dir, entry, outPath, dataSegmentHarm }) {
  const started = Date.now();
  // asc only reads .ts files: every .as file is handed to it under that name (an entry's
  // `export { … } from './max-pool-grad'` asks for max-pool-grad.ts).
  const sources = {};
  for (const name of await readdir(dir)) {
    if (name.endsWith('.as')) sources[name.replace(/\.as$/, '.ts')] = await readFile(join(dir, name), 'utf8');
  }
  const outputs = {};
  const stderr = [];
  const { error } = await asc.main(
    [`${entry}.ts`, ...FLAGS, '--outFile', `${entry}.wasm`, '--textFile', `${entry}.wat`],
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
  if (error) throw new Error(`AssemblyScript compilation of ${relative(root, dir)}/*.as failed:\n${stderr.join('')}`);
  if (/\(data\b/.test(outputs[`${entry}.wat`]))
    throw new Error(`${relative(root, dir)}/${entry}.as compiled with a data segment: ${dataSegmentHarm}`);
  await mkdir(dirname(outPath), { recursive: true });
  const partial = `${outPath}.${process.pid}.tmp`;
  await writeFile(partial, outputs[`${entry}.wasm`]);
  await rename(partial, outPath);
  return { path: outPath, bytes: outputs[`${entry}.wasm`].length, ms: Date.now() - started };
}

/** `node <compile script>` compiles and says what it wrote. */
export async function compileWhenRun(moduleUrl, compile) {
  if (!process.argv[1] || resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  const { path, bytes, ms } = await compile();
  process.stdout.write(`compiled ${path} (${bytes} bytes) in ${ms} ms\n`);
}
