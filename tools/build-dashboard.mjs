// Builds the web dashboard (apps/dashboard/src) into dist/dashboard: TypeScript → browser ES
// modules with swc (no bundler: a handful of modules over HTTP/1.1 on localhost is fast enough),
// index.html and styles.css copied, and uPlot's ES module and CSS copied from node_modules so the
// page loads nothing from a CDN. The page talks to the API through @trainyard/client's
// browser-safe entry (`@trainyard/client/browser`, libs/client/src/browser.ts): that file and the
// modules it imports are compiled the same way into dist/dashboard/client/. Types of
// @trainyard/contracts are imported with `import type` and stripped, so zod never reaches the
// browser: a served module that imports any other package, zod or a `node:` module fails the
// build. Part of `npm run build`; the API serves the folder at `/`.
import { transformFile } from '@swc/core';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'apps/dashboard/src');
const out = join(root, 'dist/dashboard');
/** Workspace entries the page may import as values: where each is compiled from, and served as. */
const BROWSER_ENTRIES = {
  '@trainyard/client/browser': { from: join(root, 'libs/client/src/browser.ts'), as: 'client/browser.js' },
};
const clientSrc = join(root, 'libs/client/src');

/** Compiles one module for the browser: its relative imports name `.js` files, its bare ones are mapped or refused. */
async function compile(file, target, servedAs) {
  const { code } = await transformFile(file, {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  });
  const relativeImports = [];
  // Browsers resolve relative imports literally: './api' must name the file './api.js'.
  // uPlot is named by its file, not through an import map: an inline <script> would need a CSP exception.
  const browserCode = code
    .replace(/(from\s+['"])(\.\.?\/[^'"]+?)(['"])/g, (_, a, path, b) => {
      relativeImports.push(path);
      return `${a}${path}.js${b}`;
    })
    .replace(/(from\s+['"])uplot(['"])/g, (_, a, b) => `${a}${relativeUrl(servedAs, 'vendor/uPlot.esm.js')}${b}`)
    .replace(/(from\s+['"])(@trainyard\/[^'"]+)(['"])/g, (whole, a, name, b) =>
      BROWSER_ENTRIES[name] ? `${a}${relativeUrl(servedAs, BROWSER_ENTRIES[name].as)}${b}` : whole,
    );
  // Anything else bare — zod, a `node:` module, another workspace library — is a module the
  // browser cannot load (or must not: zod is 457 KB); types come with `import type`, which swc strips.
  const bare = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](?!\.\.?\/)([^'"]+)['"]/.exec(browserCode);
  if (bare)
    throw new Error(
      `${relative(root, file)} imports "${bare[1]}" at run time; the dashboard serves no package but uPlot and ` +
        '@trainyard/client/browser (import types with `import type`)',
    );
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, browserCode);
  return relativeImports;
}

/** `to` as an import specifier from the served module `from` (both relative to dist/dashboard). */
function relativeUrl(from, to) {
  const path = relative(dirname(join(out, from)), join(out, to));
  return path.startsWith('.') ? path : `./${path}`;
}

const started = Date.now();
await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'vendor'), { recursive: true });
let count = 0;
for (const name of await readdir(src)) {
  if (/\.ts$/.test(name) && !/\.spec\.ts$/.test(name)) {
    const servedAs = name.replace(/\.ts$/, '.js');
    await compile(join(src, name), join(out, servedAs), servedAs);
    count++;
  } else if (/\.(html|css|svg)$/.test(name)) {
    await copyFile(join(src, name), join(out, name));
  }
}
// The client's browser entry and what it imports at run time, and nothing else of libs/client:
// its zod layer (response-schemas.ts, trainyard-client.ts) is never reached from browser.ts.
const pending = Object.values(BROWSER_ENTRIES).map((entry) => entry.from);
const done = new Set();
while (pending.length) {
  const file = pending.pop();
  if (done.has(file)) continue;
  done.add(file);
  if (!file.startsWith(`${clientSrc}/`)) throw new Error(`${relative(root, file)} is outside libs/client/src`);
  const servedAs = join('client', relative(clientSrc, file)).replace(/\.ts$/, '.js');
  for (const path of await compile(file, join(out, servedAs), servedAs))
    pending.push(resolve(dirname(file), `${path}.ts`));
  count++;
}
await copyFile(join(root, 'node_modules/uplot/dist/uPlot.esm.js'), join(out, 'vendor/uPlot.esm.js'));
await copyFile(join(root, 'node_modules/uplot/dist/uPlot.min.css'), join(out, 'vendor/uPlot.min.css'));
process.stdout.write(`built the dashboard (${count} modules) into dist/dashboard in ${Date.now() - started} ms\n`);
