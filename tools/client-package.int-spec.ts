import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HTTP_CONTRACTS } from '@trainyard/contracts';

const ROOT = resolve(__dirname, '..');

/**
 * The TypeScript example README.md gives for the client, read from README.md itself (the ```ts
 * block after "compiles this very text"): compiled below against the packed package, so the README
 * cannot drift from what the package exports.
 */
const README_EXAMPLE = (() => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const example = /compiles this very text[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!example) throw new Error('README.md has no TypeScript example of the client after "compiles this very text"');
  return example;
})();

/**
 * @trainyard/client as a package of its own (tools/build-client-package.mjs): installed alone in
 * an empty folder beside zod (its one dependency), it loads without reaching into the repository,
 * and a TypeScript consumer type-checks against its declarations.
 */
describe('@trainyard/client built as its own package', () => {
  const consumer = mkdtempSync(join(tmpdir(), 'trainyard-client-consumer-'));
  let packed: { filename: string; size: number; unpackedSize: number; files: { path: string; size: number }[] };
  afterAll(() => rmSync(consumer, { recursive: true, force: true }));

  beforeAll(() => {
    execFileSync(process.execPath, [join(ROOT, 'tools/build-client-package.mjs')], { cwd: ROOT, stdio: 'pipe' });
    const modules = join(consumer, 'node_modules');
    mkdirSync(join(modules, '@trainyard/client'), { recursive: true });
    mkdirSync(join(modules, '@types'), { recursive: true });
    // Installed as a user gets it: what `npm pack` puts in the tarball (its `files`), nothing else of dist.
    [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', consumer], {
        cwd: join(ROOT, 'dist/packages/client'),
        encoding: 'utf8',
      }),
    ) as (typeof packed)[];
    const tarball = join(consumer, packed.filename);
    execFileSync('tar', ['-xzf', tarball, '--strip-components=1', '-C', join(modules, '@trainyard/client')]);
    symlinkSync(join(ROOT, 'node_modules/zod'), join(modules, 'zod'));
    symlinkSync(join(ROOT, 'node_modules/@types/node'), join(modules, '@types/node'));
  }, 120_000);

  it('names itself and points main and types into its own folder', () => {
    const pkg = JSON.parse(readFileSync(join(consumer, 'node_modules/@trainyard/client/package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: '@trainyard/client', dependencies: { zod: expect.any(String) } });
    expect(Object.keys(pkg.dependencies)).toEqual(['zod']);
  });

  it("stays small: its declarations name the contracts' schema types rather than copy them", () => {
    // tsc writes an unnamed type out in full wherever a declaration needs it: before the schemas'
    // types had names (libs/contracts/src/named-schema.ts) the package was 7.2 MB unpacked, 7.0 MB
    // of it declarations (run-spec.schema.d.ts alone 2.9 MB); 0.8 MB after (2026-12-07).
    expect(packed.unpackedSize).toBeLessThan(1_000_000);
    const declarations = packed.files.filter((f) => f.path.endsWith('.d.ts'));
    const largest = declarations.reduce((a, b) => (b.size > a.size ? b : a));
    expect({ file: largest.path, under100KB: largest.size < 100_000 }).toEqual({
      file: largest.path,
      under100KB: true,
    });
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

  it('loads its named exports into an ES module', () => {
    // Node finds a CommonJS module's names by reading its source (cjs-module-lexer): without the
    // build's export annotations `import { TrainyardClient }` is a SyntaxError in an .mjs.
    writeFileSync(
      join(consumer, 'use.mjs'),
      `import { TrainyardClient, TrainyardConnectionError } from '@trainyard/client';
      import { TrainyardClientCore, TrainyardApiError } from '@trainyard/client/browser';
      console.log(JSON.stringify([TrainyardClient, TrainyardConnectionError, TrainyardClientCore, TrainyardApiError].map((f) => typeof f)));`,
    );
    const out = execFileSync(process.execPath, ['use.mjs'], { cwd: consumer, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(['function', 'function', 'function', 'function']);
  });

  /** Type-checks `source` as the consumer's `file` under tsc --strict: '' when it compiles, else tsc's report. */
  const tsc = (file: string, source: string, module: 'commonjs' | 'nodenext' = 'commonjs') => {
    writeFileSync(join(consumer, file), source);
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
          module,
          '--moduleResolution',
          module === 'commonjs' ? 'node10' : 'nodenext',
          '--target',
          'es2022',
          '--types',
          'node',
          file,
        ],
        { cwd: consumer, encoding: 'utf8', stdio: 'pipe' },
      );
      return '';
    } catch (error) {
      return String((error as { stdout?: string }).stdout);
    }
  };

  it('type-checks a consumer against its declarations, and refuses a wrong use', () => {
    const good = `import { TrainyardClient } from '@trainyard/client';
      async function main(): Promise<string[]> {
        const client = new TrainyardClient('http://localhost:3000', 'key');
        const page = await client.listPipelines({ limit: 10 });
        const names: string[] = page.items.map((p) => p.name + p.status);
        for await (const model of client.models()) names.push(model.versions[0]?.runId ?? '');
        return names;
      }
      void main;`;
    expect(tsc('use.ts', good)).toBe('');
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
    expect(tsc('use.ts', browser)).toBe('');
    expect(
      tsc(
        'use.ts',
        `import { TrainyardClient } from '@trainyard/client';
      const n: number = new TrainyardClient('x').baseUrl;`,
      ),
    ).toMatch(/TS2322/);
  }, 120_000);

  it('exports the types of what a client sends and reads, from both entries, and a consumer uses them', () => {
    // Every answer's contract by its OpenAPI name, and what a caller writes: specs, queries, enums.
    const names = [
      ...Object.keys(HTTP_CONTRACTS),
      ...['RunLogLine', 'RunSpecInput', 'PretrainSpecInput', 'FinetuneSpecInput', 'PipelineSpecInput'],
      ...['SweepSpecInput', 'RunUpdate', 'RunSpec', 'RunStatus', 'RunKind', 'ApiKeyScope', 'DrainMode'],
      ...['RunListQuery', 'PageQuery', 'RunLogQuery', 'RunProgress', 'RunResult', 'DataReport'],
    ];
    const source = `import type { RunDetailView, RunSpecInput, RunEvent, RunListQuery, SweepSpecInput } from '@trainyard/client';
import type { PipelineSpecInput, RunDeletionBlocker, ProblemDetails } from '@trainyard/client';
import type * as Client from '@trainyard/client';
import type * as Browser from '@trainyard/client/browser';
import { TrainyardApiError, TrainyardClient, TrainyardConnectionError } from '@trainyard/client';
import { TrainyardConnectionError as BrowserConnectionError } from '@trainyard/client/browser';

export type Named = [${names.map((n) => `Client.${n}`).join(', ')}];
export type NamedInBrowser = [${names.map((n) => `Browser.${n}`).join(', ')}];

export async function follow(client: TrainyardClient, spec: RunSpecInput): Promise<RunDetailView> {
  const { id } = await client.submit(spec);
  for await (const event of client.events(id)) {
    const e: RunEvent = event;
    if (e.type === 'status' && e.endedAt !== null) break;
  }
  return client.run(id);
}
export const finetunes: RunListQuery = { kind: 'finetune', status: 'succeeded' };
export const sweep: SweepSpecInput = {
  name: 's',
  strategy: 'grid',
  base: { name: 'b', dataset: { name: 'mnist' } },
  parameters: { 'training.learningRate': [0.01, 0.001] },
};
export const pipeline: PipelineSpecInput = {
  name: 'p',
  pretrain: { name: 'ae', dataset: { name: 'mnist' } },
  finetunes: [{ name: 'ft', kind: 'finetune', dataset: { name: 'mnist', labelsPerClass: 10 } }],
};
export function explain(error: unknown): string {
  if (error instanceof TrainyardConnectionError) return error.method + ' ' + error.url + ' ' + (error.code ?? '');
  if (error instanceof TrainyardApiError) {
    const blockers: RunDeletionBlocker[] = error.blockers;
    const body: Partial<ProblemDetails> | null = error.body;
    return blockers.map((b) => b.reason + ' ' + (b.id ?? '')).join(', ') + (body?.title ?? '');
  }
  return String(error);
}
export const same: typeof TrainyardConnectionError = BrowserConnectionError;
`;
    expect(tsc('types.ts', source)).toBe('');
  }, 120_000);

  it("refuses a sweep's base, a pipeline's steps and a run kind that are none (what the API would refuse)", () => {
    const report = tsc(
      'wrong.ts',
      `import type { TrainyardClient } from '@trainyard/client';
export const s: Parameters<TrainyardClient['submitSweep']>[0] = { name: 'x', strategy: 'grid', base: 42, parameters: { 'training.learningRate': [1] } };
export const p: Parameters<TrainyardClient['submitPipeline']>[0] = { name: 'p', pretrain: 'oops', finetunes: [1, 2, 3] };
export const k: Parameters<TrainyardClient['listRuns']>[0] = { kind: 'finetunes' };
`,
    );
    const lines = new Set([...report.matchAll(/^wrong\.ts\((\d+),\d+\): error TS\d+/gm)].map((m) => Number(m[1])));
    expect([...lines]).toEqual([2, 3, 4]);
  }, 120_000);

  it('gives a consumer the types the sources give (tools/client-package.types.ts, compiled against the package)', () => {
    // The same file `npm run typecheck` compiles against libs/client's sources: sample specs and
    // answers both ways, the relations between the types, and what they refuse (@ts-expect-error).
    expect(tsc('types-check.ts', readFileSync(join(ROOT, 'tools/client-package.types.ts'), 'utf8'))).toBe('');
  }, 120_000);

  it("compiles README's example against the package, in a CommonJS and in an ES module", () => {
    expect(tsc('readme.ts', README_EXAMPLE)).toBe('');
    expect(tsc('readme.mts', README_EXAMPLE, 'nodenext')).toBe('');
  }, 120_000);
});
