// Builds @trainyard/client (libs/client) as a package of its own in dist/packages/client:
// its sources and the contracts it is typed by (libs/contracts, whose only dependency is zod),
// compiled with swc as tools/build.mjs does (the @trainyard/* aliases become relative requires),
// declarations from tsc with the same aliases made relative, and libs/client/package.json (main,
// types and exports point into the folder: `@trainyard/client` is the Node entry with the zod
// layer, `@trainyard/client/browser` the transport alone, which loads neither zod nor node:).
// `npm pack` in dist/packages/client makes the tarball; nothing of the API, the worker or the
// database is in it.
import { execFileSync } from 'node:child_process';
import { transformFile } from '@swc/core';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const out = join(root, 'dist/packages/client');
const sources = ['libs/client/src', 'libs/contracts/src'];
const { paths } = JSON.parse(await readFile(join(root, 'tsconfig.base.json'), 'utf8')).compilerOptions;

async function* files(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (/\.ts$/.test(entry.name) && !/\.(int-)?spec\.ts$|\.d\.ts$/.test(entry.name)) yield path;
  }
}

const started = Date.now();
await rm(out, { recursive: true, force: true });
let count = 0;
for (const source of sources) {
  for await (const file of files(join(root, source))) {
    const { code } = await transformFile(file, {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022', baseUrl: root, paths, keepClassNames: true },
      module: { type: 'commonjs' },
      filename: file,
    });
    const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, code);
    count++;
  }
}

// Declarations: tsc keeps import specifiers as written, so the alias is made relative afterwards.
const tsconfig = join(out, 'tsconfig.declarations.json');
await writeFile(
  tsconfig,
  JSON.stringify({
    extends: join(root, 'tsconfig.base.json'),
    compilerOptions: {
      declaration: true,
      emitDeclarationOnly: true,
      noEmit: false,
      rootDir: root,
      outDir: out,
      types: ['node'],
      skipLibCheck: true,
    },
    files: [join(root, 'libs/client/src/index.ts'), join(root, 'libs/client/src/browser.ts')],
  }),
);
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], { stdio: 'inherit' });
await rm(tsconfig);
const contracts = join(out, 'libs/contracts/src/index');
for (const dir of sources.map((s) => join(out, s))) {
  for (const entry of await readdir(dir, { recursive: true })) {
    if (!entry.endsWith('.d.ts')) continue;
    const path = join(dir, entry);
    const text = await readFile(path, 'utf8');
    let target = relative(dirname(path), contracts);
    if (!target.startsWith('.')) target = `./${target}`;
    const fixed = text.replace(/(['"])@trainyard\/contracts\1/g, `'${target}'`);
    if (/['"]@trainyard\//.test(fixed)) throw new Error(`${path} still names a workspace library`);
    if (fixed !== text) await writeFile(path, fixed);
  }
}
await copyFile(join(root, 'libs/client/package.json'), join(out, 'package.json'));
process.stdout.write(
  `built @trainyard/client (${count} modules and their declarations) into ${relative(root, out)} in ${Date.now() - started} ms\n`,
);
