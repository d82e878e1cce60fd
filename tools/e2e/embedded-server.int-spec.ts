import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { RunDetailView } from '@trainyard/contracts';
import { freePort, startScript, waitFor, type AppProcess } from './processes';
import { embeddedAdminKey, TrainyardClient } from '@trainyard/cli-app';
import { LocalObjectStore } from '@trainyard/storage';
import { writeColourFolder } from './image-folder-fixtures';

/**
 * The zero-configuration mode behind `npm run demo`: no DATABASE_URL and no S3_ENDPOINT, so the
 * server uses an embedded PGlite and a local object store under TRAINYARD_HOME, with the API and
 * one worker in one process.
 */
/** `promise`, or an error naming `what` once `ms` have passed without its answer. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} had no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe('embedded server (npm run demo mode)', () => {
  const home = mkdtempSync(join(tmpdir(), 'trainyard-home-'));
  const queueName = `embedded-${randomUUID()}`;
  let server: AppProcess;
  let client: TrainyardClient;
  let port: number;
  let adminKey: string;

  beforeAll(async () => {
    port = await freePort();
    adminKey = embeddedAdminKey(home);
    server = startScript('dist/apps/cli/src/embedded-server.js', {
      TRAINYARD_HOME: home,
      TRAINYARD_QUEUE: queueName,
      API_PORT: String(port),
      DATABASE_URL: '',
      S3_ENDPOINT: '',
      TRAINYARD_ADMIN_KEY: adminKey,
    });
    client = new TrainyardClient(`http://127.0.0.1:${port}`, adminKey);
    await waitFor(
      'the embedded server',
      async () => ((await client.ready()) ? true : undefined),
      90_000,
      () => server.output(),
    );
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: 6379 } });
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    rmSync(home, { recursive: true, force: true });
  });

  /**
   * `trainyard_runs`' series that are not 0. PGlite's driver sends an array parameter of an enum as
   * a bare list PostgreSQL refuses: the counts name their statuses one parameter each, so the series
   * is there instead of left out of every scrape.
   */
  const runsSeries = async (): Promise<string[]> => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(res.status).toBe(200);
    return (await res.text()).split('\n').filter((l) => l.startsWith('trainyard_runs{') && !l.endsWith(' 0'));
  };

  it('trains a submitted run to SUCCEEDED with its database and checkpoints under TRAINYARD_HOME, counted in /metrics', async () => {
    const { id } = await client.submit({
      kind: 'pretrain',
      name: 'embedded smoke',
      dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 40, testPerClass: 10 },
      model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4, 8], latentDim: 16 },
      training: { epochs: 2, batchSize: 16 },
    });
    // One run, in whichever status it has reached.
    expect(await runsSeries()).toEqual([expect.stringMatching(/^trainyard_runs\{status="\w+",kind="PRETRAIN"\} 1$/)]);
    const run = await waitFor<RunDetailView>(
      `run ${id} to end`,
      async () => {
        const view = await client.run(id);
        return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(view.status) ? view : undefined;
      },
      120_000,
      () => server.output(),
    );
    expect(run).toMatchObject({ status: 'SUCCEEDED', failureReason: null });
    // In its ended status at the next scrape, not a minute later (METRICS_ENDED_RUNS_MAX_AGE_MS).
    expect(await runsSeries()).toEqual(['trainyard_runs{status="SUCCEEDED",kind="PRETRAIN"} 1']);
    expect(run.checkpoints.length).toBeGreaterThan(0);
    const folder = fileURLToPath(run.checkpoints.at(-1)!.uri);
    expect(folder.startsWith(join(home, 'objects'))).toBe(true);
    expect(existsSync(join(folder, 'manifest.json'))).toBe(true);
    expect(existsSync(join(home, 'pglite'))).toBe(true);
    // The demo's key file is the user's alone.
    expect(statSync(join(home, 'admin-key')).mode & 0o777).toBe(0o600);
  }, 180_000);

  it('deletes an uploaded dataset and its images, on its one database connection, and answers on', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'trainyard-upload-'));
    try {
      await writeColourFolder(new LocalObjectStore(folder), '', 3);
      const tar = spawnSync('tar', ['-C', folder, '-c', '.'], { maxBuffer: 64 << 20 });
      expect(tar.status).toBe(0);
      const uploaded = await client.uploadDataset('colours', new Uint8Array(tar.stdout));
      expect(uploaded).toMatchObject({ classNames: ['blue', 'green', 'red'], counts: [3, 3, 3], skippedCount: 1 });
      // Its deletion once waited for ever for a second connection PGlite does not have, and held
      // the one it had: every later request hung with it.
      const deleted = await within(20_000, 'the deletion', client.deleteDataset(uploaded.id));
      expect(deleted.objects).toMatchObject({ count: 9 });
      expect((await within(5_000, 'a request after it', client.listDatasets())).items).toEqual([]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }, 60_000);

  it('is the one process on its embedded database: a second server, the demo, keys and migrate fail fast naming it', async () => {
    const env = { ...process.env, TRAINYARD_HOME: home, DATABASE_URL: '', S3_ENDPOINT: '', TRAINYARD_QUEUE: queueName };
    const naming = `in use by process ${server.child.pid} (node embedded-server.js`;
    const otherPort = String(await freePort());
    for (const args of [
      ['dist/apps/cli/src/keys.js', 'list'],
      ['dist/apps/cli/src/migrate.js'],
      ['dist/apps/cli/src/demo.js'],
      ['dist/apps/cli/src/embedded-server.js'],
    ]) {
      const started = Date.now();
      const run = spawnSync(process.execPath, args, { env: { ...env, API_PORT: otherPort }, encoding: 'utf8' });
      expect({ script: args[0], status: run.status }).toEqual({ script: args[0], status: 75 });
      expect(run.stderr).toContain(naming);
      expect(Date.now() - started).toBeLessThan(15_000);
    }
    // The server is unharmed: its lock still names it, and it answers (/readyz checks its database,
    // Redis and store, each with a short deadline: read again for a while on a loaded machine).
    expect(JSON.parse(readFileSync(join(home, 'pglite.lock'), 'utf8')).pid).toBe(server.child.pid);
    await waitFor(
      'the server to answer /readyz',
      async () => (await client.ready()) || undefined,
      15_000,
      () => server.output(),
    );
  }, 60_000);

  it('the demo refuses a port another server answers on, rather than talk to that one', () => {
    const other = mkdtempSync(join(tmpdir(), 'trainyard-home-'));
    try {
      const run = spawnSync(process.execPath, ['dist/apps/cli/src/demo.js'], {
        env: { ...process.env, TRAINYARD_HOME: other, DATABASE_URL: '', API_PORT: String(port) },
        encoding: 'utf8',
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(`port ${port} is not free`);
      expect(existsSync(join(other, 'pglite'))).toBe(false);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  }, 30_000);

  it('stops cleanly on SIGTERM, PGlite closed and its lock released, even with nobody reading its output', async () => {
    // As when the demo that started it is gone: its next log line meets a closed pipe (EPIPE).
    server.child.stdout?.destroy();
    server.child.stderr?.destroy();
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(existsSync(join(home, 'pglite.lock'))).toBe(false);
  }, 60_000);
});

describe('npm run demo on Ctrl-C', () => {
  const home = mkdtempSync(join(tmpdir(), 'trainyard-home-'));
  const queueName = `embedded-${randomUUID()}`;

  afterAll(async () => {
    const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: 6379 } });
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('waits for its server to stop (worker, API, PGlite closed), then exits 130', async () => {
    const demo = startScript('dist/apps/cli/src/demo.js', {
      TRAINYARD_HOME: home,
      TRAINYARD_QUEUE: queueName,
      API_PORT: String(await freePort()),
      DATABASE_URL: '',
      S3_ENDPOINT: '',
    });
    await waitFor(
      'the demo to start its server',
      async () => (demo.output().includes('Trainyard API on') ? true : undefined),
      90_000,
      () => demo.output(),
    );
    const serverPid = JSON.parse(readFileSync(join(home, 'pglite.lock'), 'utf8')).pid as number;
    expect(serverPid).not.toBe(demo.child.pid);
    expect(await demo.stop('SIGINT')).toBe(130);
    // By the time the demo has exited, its server has too, having closed PGlite (which releases the lock).
    expect(() => process.kill(serverPid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(existsSync(join(home, 'pglite.lock'))).toBe(false);
    expect(readFileSync(join(home, 'demo-server.log'), 'utf8')).toContain('SIGINT: stopping the worker, then the API');
  }, 120_000);
});
