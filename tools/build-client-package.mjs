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
const base = JSON.parse(await readFile(join(root, 'tsconfig.base.json'), 'utf8')).compilerOptions;
const { paths } = base;

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
      // Lists each module's exports where Node's ES-module loader reads CommonJS names (cjs-module-lexer):
      // without it `import { TrainyardClient } from '@trainyard/client'` fails in an ES module.
      module: { type: 'commonjs', exportInteropAnnotation: true },
      filename: file,
    });
    const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, code);
    count++;
  }
}

// Declarations: tsc keeps import specifiers as written, so the alias is made relative afterwards.
// It is given the contracts' alias alone and no baseUrl: a type it must name itself in a
// declaration (a schema's RunProgress) it may name through any module that exports it, and since
// the client re-exports the contracts' types that was `import("libs/client/src")` (by baseUrl) or
// `@trainyard/client`, which mean nothing inside the package.
const tsconfig = join(out, 'tsconfig.declarations.json');
await writeFile(
  tsconfig,
  JSON.stringify({
    compilerOptions: {
      ...base,
      baseUrl: undefined,
      declaration: true,
      emitDeclarationOnly: true,
      noEmit: false,
      rootDir: root,
      outDir: out,
      types: ['node'],
      skipLibCheck: true,
      paths: { '@trainyard/contracts': paths['@trainyard/contracts'].map((path) => join(root, path)) },
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
    const outside = /(?:\bfrom\s*|\bimport\s*\(\s*)['"](?!\.\.?[/'"]|zod[/'"])([^'"]+)['"]/.exec(fixed);
    if (outside) throw new Error(`${path} imports "${outside[1]}", which is neither in the package nor zod`);
    if (fixed !== text) await writeFile(path, fixed);
  }
}
await copyFile(join(root, 'libs/client/package.json'), join(out, 'package.json'));
process.stdout.write(
  `built @trainyard/client (${count} modules and their declarations) into ${relative(root, out)} in ${Date.now() - started} ms\n`,
);
