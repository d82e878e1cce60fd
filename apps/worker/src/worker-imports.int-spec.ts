import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createFreshDatabase, type FreshDatabase } from '@trainyard/db/testing';

// Runs the compiled app, as production does: `node tools/build.mjs` first (the test command builds).
const dist = resolve(__dirname, '../../../dist');
const HEAVY = /[\\/]node_modules[\\/](@tensorflow[\\/][^\\/]+|sharp)[\\/]/;

/** Every module file a fresh node process has loaded after running `body`. */
async function modulesLoadedBy(body: string, env: Record<string, string> = {}): Promise<string[]> {
  const script = `(async () => { ${body} })().then(() => { process.stdout.write('\\n' + JSON.stringify(Object.keys(require.cache))); process.exit(0); }, (e) => { console.error(e); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`the script failed (exit ${code}): ${stderr}`);
  return JSON.parse(stdout.trim().split('\n').pop()!) as string[];
}
const heavy = (modules: string[]) => [...new Set(modules.flatMap((m) => HEAVY.exec(m)?.[1] ?? []))].sort();

/**
 * The worker only supervises (issue #13 item 6): it starts, probes its devices and takes jobs
 * without ever loading TensorFlow.js or sharp; the training processes it starts load them.
 * (eslint's no-restricted-imports for apps/worker keeps the imports that way; this checks what runs.)
 */
describe('what the worker process loads', () => {
  let fresh: FreshDatabase;
  let home: string;

  beforeAll(async () => {
    fresh = await createFreshDatabase();
    home = await mkdtemp(join(tmpdir(), 'trainyard-worker-imports-'));
  });
  afterAll(async () => {
    await fresh?.drop();
    await rm(home, { recursive: true, force: true });
  });

  it('starts (device probe included) without loading @tensorflow/* or sharp', async () => {
    const modules = await modulesLoadedBy(
      `require('reflect-metadata');
       const { loadConfig } = require(${JSON.stringify(join(dist, 'libs/config/src/index.js'))});
       const { createWorker } = require(${JSON.stringify(join(dist, 'apps/worker/src/index.js'))});
       const app = await createWorker(loadConfig(), { logger: false });
       await app.close();`,
      {
        DATABASE_URL: fresh.url,
        REDIS_URL: `redis://127.0.0.1:${process.env['TRAINYARD_TEST_REDIS_PORT'] ?? 6379}`,
        TRAINYARD_HOME: home,
        TRAINYARD_QUEUE: `test-${randomUUID()}`,
        WORKER_RECONCILE_INTERVAL_MS: '3600000',
      },
    );
    expect(modules).toContainEqual(
      expect.stringMatching(/dist[\\/]apps[\\/]worker[\\/]src[\\/]training\.processor\.js$/),
    );
    expect(modules).toContainEqual(expect.stringMatching(/dist[\\/]libs[\\/]training[\\/]src[\\/]supervisor\.js$/));
    expect(heavy(modules)).toEqual([]);
    // On PostgreSQL, the embedded database and its Prisma adapter stay unloaded (about 50 ms of a start).
    expect(
      modules.filter((m) => /[\\/]node_modules[\\/](@electric-sql[\\/]pglite|pglite-prisma-adapter)[\\/]/.test(m)),
    ).toEqual([]);
  });

  it('would see them if they were loaded: the whole training library loads both', async () => {
    const modules = await modulesLoadedBy(`require(${JSON.stringify(join(dist, 'libs/training/src/index.js'))});`);
    expect(heavy(modules)).toEqual(expect.arrayContaining(['@tensorflow/tfjs-core', 'sharp']));
  });
});
