import { gzipSync } from 'node:zlib';
import { startTestApi, type TestApi } from '../testing/test-api';

/** Specifiers a module imports: static `import … from`, `export … from`, bare `import '…'` and `import('…')`. */
function importsOf(code: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of code.matchAll(pattern)) found.push(match[1]!);
  return found;
}

/** Why a served module must not be: an import the browser cannot resolve (zod, `node:`, any bare name), or zod's code inlined. */
function problemsOf(url: string, code: string): string[] {
  const problems: string[] = [];
  for (const specifier of importsOf(code)) {
    if (specifier.startsWith('node:')) problems.push(`${url} imports ${specifier}`);
    else if (/^zod(\/|$)/.test(specifier)) problems.push(`${url} imports ${specifier}`);
    else if (!/^(\.\.?\/|\/)/.test(specifier)) problems.push(`${url} imports the bare package ${specifier}`);
  }
  // zod's classes are made by `$constructor("$ZodType", …)`, a string a bundler or minifier keeps.
  if (/["']\$Zod[A-Z]\w*["']/.test(code)) problems.push(`${url} holds zod's code`);
  return problems;
}

/**
 * What the browser downloads for the dashboard, crawled from the API as a browser loads it:
 * index.html, the style sheets and module it names, and every module those import, resolved
 * against the importing module's URL. The page calls the API through @trainyard/client's
 * browser-safe core, so the client's modules are among them; zod (457 KB minified) and any
 * `node:` module must not be. Needs `npm run build` (dist/dashboard).
 */
describe('the dashboard as the API serves it', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.stop());

  async function crawl(): Promise<Map<string, string>> {
    const served = new Map<string, string>();
    const index = await fetch(`${api.baseUrl}/`);
    expect(index.status).toBe(200);
    const html = await index.text();
    served.set('/', html);
    const pending = [...html.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"/g)].map((m) =>
      new URL(m[1]!, `${api.baseUrl}/`).toString(),
    );
    while (pending.length) {
      const url = pending.pop()!;
      const path = new URL(url).pathname;
      if (served.has(path)) continue;
      const res = await fetch(url);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      const body = await res.text();
      served.set(path, body);
      if (!path.endsWith('.js')) continue;
      for (const specifier of importsOf(body))
        if (/^(\.\.?\/|\/)/.test(specifier)) pending.push(new URL(specifier, url).toString());
    }
    return served;
  }

  it('flags a module that imports zod or a node: module, or carries zod inlined', () => {
    expect(problemsOf('a.js', "import { z } from 'zod';\nexport const s = z.string();")).toEqual(['a.js imports zod']);
    expect(problemsOf('b.js', 'import { randomUUID } from "node:crypto";')).toEqual(['b.js imports node:crypto']);
    expect(problemsOf('c.js', "const m = await import('zod/v4');")).toEqual(['c.js imports zod/v4']);
    expect(problemsOf('d.js', 'var t=$constructor("$ZodType",(i,d)=>{});')).toEqual(["d.js holds zod's code"]);
    expect(problemsOf('e.js', "import { h } from './dom.js';\nexport { x } from '../client/browser.js';")).toEqual([]);
  });

  it('serves no module that imports zod or node:, and reaches the API through @trainyard/client', async () => {
    const served = await crawl();
    const modules = [...served.keys()].filter((path) => path.endsWith('.js'));
    expect(modules).toEqual(
      expect.arrayContaining([
        '/assets/main.js',
        '/assets/api.js',
        '/assets/client/browser.js',
        '/assets/client/trainyard-client-core.js',
        '/assets/vendor/uPlot.esm.js',
      ]),
    );
    expect(modules.flatMap((path) => problemsOf(path, served.get(path)!))).toEqual([]);
    // No fetch outside the client: the page's own modules call the API only through it.
    const ownCalls = modules.filter(
      (path) => !path.startsWith('/assets/client/') && !path.startsWith('/assets/vendor/') && path !== '/assets/api.js',
    );
    expect(ownCalls.filter((path) => /\bfetch\(|new EventSource\(/.test(served.get(path)!))).toEqual([]);

    const bytes = [...served.values()].reduce((sum, body) => sum + Buffer.byteLength(body), 0);
    const gzip = [...served.values()].reduce((sum, body) => sum + gzipSync(body).length, 0);
    process.stdout.write(`dashboard: ${served.size} files, ${bytes} B as served, ${gzip} B gzip (file by file)\n`);
  });
});
