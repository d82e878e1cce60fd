import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

/**
 * @trainyard/client as a package of its own (tools/build-client-package.mjs): installed alone in
 * an empty folder beside zod (its one dependency), it loads without reaching into the repository,
 * and a TypeScript consumer type-checks against its declarations.
 */
describe('@trainyard/client built as its own package', () => {
  const consumer = mkdtempSync(join(tmpdir(), 'trainyard-client-consumer-'));
  afterAll(() => rmSync(consumer, { recursive: true, force: true }));

  beforeAll(() => {
    execFileSync(process.execPath, [join(ROOT, 'tools/build-client-package.mjs')], { cwd: ROOT, stdio: 'pipe' });
    const modules = join(consumer, 'node_modules');
    mkdirSync(join(modules, '@trainyard'), { recursive: true });
    mkdirSync(join(modules, '@types'), { recursive: true });
    cpSync(join(ROOT, 'dist/packages/client'), join(modules, '@trainyard/client'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules/zod'), join(modules, 'zod'));
    symlinkSync(join(ROOT, 'node_modules/@types/node'), join(modules, '@types/node'));
  }, 120_000);

  it('names itself and points main and types into its own folder', () => {
    const pkg = JSON.parse(readFileSync(join(consumer, 'node_modules/@trainyard/client/package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: '@trainyard/client', dependencies: { zod: expect.any(String) } });
    expect(Object.keys(pkg.dependencies)).toEqual(['zod']);
  });

  it('loads from the consumer folder, every module it needs inside the package or zod', () => {
    const script = `
      const { TrainyardClient, TrainyardApiError } = require('@trainyard/client');
      const client = new TrainyardClient('http://127.0.0.1:9/');
      const outside = Object.keys(require.cache).filter((f) => !f.includes('/node_modules/@trainyard/client/') && !f.includes('/zod/'));
      console.log(JSON.stringify({ baseUrl: client.baseUrl, error: typeof TrainyardApiError, outside }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: consumer, encoding: 'utf8' }));
    expect(out).toEqual({ baseUrl: 'http://127.0.0.1:9', error: 'function', outside: [] });
  });

  it('loads its browser entry without zod or any node: module', () => {
    const script = `
      const before = new Set(Object.keys(require.cache));
      const { TrainyardClientCore } = require('@trainyard/client/browser');
      const client = new TrainyardClientCore('', undefined, { credentials: 'same-origin' });
      const loaded = Object.keys(require.cache).filter((f) => !before.has(f));
      console.log(JSON.stringify({ url: client.checkpointArchiveUrl('r 1', 2), loaded }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: consumer, encoding: 'utf8' })) as {
      url: string;
      loaded: string[];
    };
    expect(out.url).toBe('/v1/runs/r%201/checkpoints/2/archive');
    expect(out.loaded.length).toBeGreaterThan(0);
    expect(out.loaded.filter((f) => !f.includes('/node_modules/@trainyard/client/'))).toEqual([]);
    expect(out.loaded.filter((f) => /response-schemas|trainyard-client\.js|contracts/.test(f))).toEqual([]);
    // Nothing in the modules it loads names a node: built-in.
    for (const file of out.loaded) expect(readFileSync(file, 'utf8')).not.toMatch(/require\(["']node:/);
  });

  it('type-checks a consumer against its declarations, and refuses a wrong use', () => {
    const tsc = (source: string) => {
      writeFileSync(join(consumer, 'use.ts'), source);
      try {
        execFileSync(
          process.execPath,
          [
            join(ROOT, 'node_modules/typescript/bin/tsc'),
            '--noEmit',
            '--strict',
            '--esModuleInterop',
            '--skipLibCheck',
            '--module',
            'commonjs',
            '--moduleResolution',
            'node10',
            '--target',
            'es2022',
            '--types',
            'node',
            'use.ts',
          ],
          { cwd: consumer, encoding: 'utf8', stdio: 'pipe' },
        );
        return '';
      } catch (error) {
        return String((error as { stdout?: string }).stdout);
      }
    };
    const good = `import { TrainyardClient } from '@trainyard/client';
      async function main(): Promise<string[]> {
        const client = new TrainyardClient('http://localhost:3000', 'key');
        const page = await client.listPipelines({ limit: 10 });
        const names: string[] = page.items.map((p) => p.name + p.status);
        for await (const model of client.models()) names.push(model.versions[0]?.runId ?? '');
        return names;
      }
      void main;`;
    expect(tsc(good)).toBe('');
    const browser = `import { TrainyardClientCore, TrainyardApiError } from '@trainyard/client/browser';
      async function main(): Promise<string> {
        const client = new TrainyardClientCore('', undefined, { credentials: 'same-origin' });
        try {
          return (await client.whoami()).name + client.datasetSampleUrl('d', 0, 1);
        } catch (error) {
          return error instanceof TrainyardApiError ? error.detail : '';
        }
      }
      void main;`;
    expect(tsc(browser)).toBe('');
    expect(
      tsc(`import { TrainyardClient } from '@trainyard/client';
      const n: number = new TrainyardClient('x').baseUrl;`),
    ).toMatch(/TS2322/);
  }, 60_000);
});
