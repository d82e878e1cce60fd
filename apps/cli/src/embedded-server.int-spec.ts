import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  authorizedFetch,
  createFreshDatabase,
  freePort,
  startFreezableProxy,
  testAdminKey,
  type FreezableProxy,
  type FreshDatabase,
} from '@trainyard/db/testing';

// The compiled server, started as the demo starts it: `npm run build` first.
const SERVER = resolve(__dirname, '../../../dist/apps/cli/src/embedded-server.js');
const WORKER_TIMEOUT_MS = 2000;
const API_TIMEOUT_MS = 2000;
/** The worker's deadline, its 1 s margin, then the API's. */
const BOUND_MS = WORKER_TIMEOUT_MS + 1000 + API_TIMEOUT_MS;

/**
 * The demo's in-process server (API and worker in one process) on a PostgreSQL given by
 * DATABASE_URL, stopped (SIGTERM) while that PostgreSQL is silent (a proxy between the two stops
 * forwarding) and a request waits on it: it exits within its shutdown bound, not once pg's own
 * deadlines (DATABASE_CONNECT_TIMEOUT_MS, DATABASE_QUERY_TIMEOUT_MS) end what waits on it.
 */
describe('embedded-server.js stopped while its PostgreSQL does not answer (compiled process, PostgreSQL, Redis)', () => {
  const adminKey = testAdminKey();
  let database: FreshDatabase;
  let proxy: FreezableProxy;
  let home: string;

  beforeAll(async () => {
    database = await createFreshDatabase();
    home = await mkdtemp(join(tmpdir(), 'trainyard-embedded-shutdown-'));
  });
  afterAll(async () => {
    proxy?.thaw();
    await proxy?.close();
    await database?.drop();
    await rm(home, { recursive: true, force: true });
  });

  it('exits within WORKER_SHUTDOWN_TIMEOUT_MS, 1 s and API_SHUTDOWN_TIMEOUT_MS, a request still in flight', async () => {
    const url = new URL(database.url);
    proxy = await startFreezableProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const server = spawn(process.execPath, [SERVER], {
      env: {
        ...process.env,
        DATABASE_URL: url.toString(),
        S3_ENDPOINT: '',
        REDIS_URL: `redis://127.0.0.1:${process.env['TRAINYARD_TEST_REDIS_PORT'] ?? 6379}`,
        TRAINYARD_QUEUE: `test-${randomUUID()}`,
        TRAINYARD_HOME: home,
        TRAINYARD_ADMIN_KEY: adminKey,
        API_PORT: String(port),
        WORKER_SHUTDOWN_TIMEOUT_MS: String(WORKER_TIMEOUT_MS),
        API_SHUTDOWN_TIMEOUT_MS: String(API_TIMEOUT_MS),
        WORKER_PRESTART: 'false',
        LOG_JSON: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    server.stdout.on('data', (chunk) => (output += chunk));
    server.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((done) => server.once('exit', done));
    try {
      const deadline = Date.now() + 90_000;
      while (
        !(await fetch(`${baseUrl}/readyz`).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (Date.now() > deadline || server.exitCode !== null) throw new Error(`the server did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      proxy.freeze();
      // A request that reads the database, left waiting on it.
      const pending = authorizedFetch(adminKey)(`${baseUrl}/v1/runs`).then(
        (response) => response.status,
        () => 'closed',
      );
      await new Promise((r) => setTimeout(r, 300));
      const stoppedAt = Date.now();
      server.kill('SIGTERM');
      // Before, 12.2 s after SIGTERM, once pg's own deadlines had ended what waited on the database.
      let late: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exited,
        new Promise<string>((r) => (late = setTimeout(() => r('still running'), 20_000))),
      ]).finally(() => clearTimeout(late));
      const tookMs = Date.now() - stoppedAt;
      expect(code).toBe(1);
      expect(tookMs).toBeGreaterThanOrEqual(BOUND_MS);
      expect(tookMs).toBeLessThan(BOUND_MS + 1500);
      expect(output).toContain(
        `shutdown not done within ${BOUND_MS} ms (WORKER_SHUTDOWN_TIMEOUT_MS, 1 s, API_SHUTDOWN_TIMEOUT_MS): exiting without waiting longer for the requests in flight or closing its connections`,
      );
      expect(await pending).toBe('closed');
    } finally {
      server.kill('SIGKILL');
      await exited;
    }
  }, 120_000);
});
