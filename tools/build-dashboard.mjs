// Builds the web dashboard (apps/dashboard/src) into dist/dashboard: TypeScript → browser ES
// modules with swc (no bundler: a handful of modules over HTTP/1.1 on localhost is fast enough),
// index.html and styles.css copied, and uPlot's ES module and CSS copied from node_modules so the
// page loads nothing from a CDN. Types of @trainyard/contracts (the API's response shapes) are
// imported with `import type` and stripped, so no workspace library or zod reaches the browser.
// Part of `npm run build`; the API serves the folder at `/`.
import { transformFile } from '@swc/core';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'apps/dashboard/src');
const out = join(root, 'dist/dashboard');

const started = Date.now();
await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'vendor'), { recursive: true });
let count = 0;
for (const name of await readdir(src)) {
  if (/\.ts$/.test(name) && !/\.spec\.ts$/.test(name)) {
    const { code } = await transformFile(join(src, name), {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    });
    // Browsers resolve relative imports literally: './api' must name the file './api.js'.
    // uPlot is named by its file, not through an import map: an inline <script> would need a CSP exception.
    const browserCode = code
      .replace(/(from\s+['"])(\.\.?\/[^'"]+?)(['"])/g, (_, a, path, b) => `${a}${path}.js${b}`)
      .replace(/(from\s+['"])uplot(['"])/g, (_, a, b) => `${a}./vendor/uPlot.esm.js${b}`);
    // Workspace libraries (the API's response contracts) are imported as types only, which swc
    // strips: a value import would name a module the browser cannot load, so it fails the build.
    const bare = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](?!\.\.?\/)([^'"]+)['"]/.exec(browserCode);
    if (bare)
      throw new Error(
        `apps/dashboard/src/${name} imports "${bare[1]}" at run time; import its types with \`import type\``,
      );
    await writeFile(join(out, name.replace(/\.ts$/, '.js')), browserCode);
    count++;
  } else if (/\.(html|css|svg)$/.test(name)) {
    await copyFile(join(src, name), join(out, name));
  }
}
await copyFile(join(root, 'node_modules/uplot/dist/uPlot.esm.js'), join(out, 'vendor/uPlot.esm.js'));
await copyFile(join(root, 'node_modules/uplot/dist/uPlot.min.css'), join(out, 'vendor/uPlot.min.css'));
process.stdout.write(`built the dashboard (${count} modules) into dist/dashboard in ${Date.now() - started} ms\n`);
