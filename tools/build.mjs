// Compiles apps/ and libs/ to dist/ with swc (decorator metadata included, which NestJS DI needs),
// rewriting the @trainyard/* path aliases to relative requires so `node dist/...` runs as is.
// Type checking is a separate step (`npm run typecheck`): swc only strips types.
import { transformFile } from '@swc/core';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, dirname, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const out = join(root, 'dist');
// tools/e2e and tools/chaos: `npm run chaos` drives the e2e fleet helpers from dist.
const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['apps', 'libs', 'tools/e2e', 'tools/chaos'];

async function* sources(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules') continue;
      yield* sources(path);
    } else if (/\.ts$/.test(entry.name) && !/\.(int-|disruptive-)?spec\.ts$|\.d\.ts$/.test(entry.name)) {
      yield path;
    }
  }
}

// The aliases come from tsconfig.base.json, the one place they are declared.
const { paths } = JSON.parse(await readFile(join(root, 'tsconfig.base.json'), 'utf8')).compilerOptions;

const options = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    baseUrl: root,
    paths,
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

const started = Date.now();
// The engine's AssemblyScript SIMD kernels compile to dist/ alongside (libs/engine/assembly).
const engineBuilt = roots.some((r) => ['libs', 'libs/engine'].includes(r.replace(/\/+$/, '')));
const simd = engineBuilt ? import('../libs/engine/assembly/compile.mjs').then((m) => m.compileSimdKernels()) : null;
// So is the augmentation's (libs/datasets/assembly): dist/libs/datasets/src/affine-resample.wasm.
const datasetsBuilt = roots.some((r) => ['libs', 'libs/datasets'].includes(r.replace(/\/+$/, '')));
const affine = datasetsBuilt
  ? import('../libs/datasets/assembly/compile.mjs').then((m) => m.compileAffineKernel())
  : null;
let count = 0;
const files = [];
for (const r of roots) for await (const f of sources(join(root, r))) files.push(f);
await Promise.all(
  files.map(async (file) => {
    const { code } = await transformFile(file, { ...options, filename: file });
    const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, code);
    // A script with a shebang is a command (package.json `bin`: trainyard): npx runs it directly.
    if (code.startsWith('#!')) await chmod(target, 0o755);
    count++;
  }),
);
const wasm = simd ? await simd : null;
const augment = affine ? await affine : null;
process.stdout.write(
  `built ${count} files${wasm ? ` and the SIMD kernels (${wasm.bytes} bytes of wasm)` : ''}${augment ? `${wasm ? ',' : ' and'} the augmentation kernel (${augment.bytes} bytes)` : ''} into dist/ in ${Date.now() - started} ms\n`,
);
