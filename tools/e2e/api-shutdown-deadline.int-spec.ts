import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  authorizedFetch,
  createFreshDatabase,
  startFreezableProxy,
  testAdminKey,
  type FreezableProxy,
  type FreshDatabase,
} from '@trainyard/db/testing';
import { REDIS } from './cluster';
import { freePort, startApp, waitFor, type AppProcess } from './processes';

const TIMEOUT_MS = 3000;

/**
 * The compiled API stopped (SIGTERM: a rolling deploy) while its PostgreSQL is silent (a proxy
 * between the two stops forwarding: a failover, a stalled server) and a request waits on it: it
 * exits within its shutdown bound, not once pg gives up the request's query (DATABASE_QUERY_TIMEOUT_MS,
 * 30 s) and then its pool, past the platform's grace period.
 */
describe('an API stopped while its PostgreSQL does not answer (compiled process, PostgreSQL, Redis)', () => {
  const adminKey = testAdminKey();
  let database: FreshDatabase;
  let proxy: FreezableProxy;
  let home: string;
  let api: AppProcess | undefined;

  beforeAll(async () => {
    database = await createFreshDatabase();
    home = await mkdtemp(join(tmpdir(), 'trainyard-api-shutdown-'));
  });
  afterAll(async () => {
    await api?.stop('SIGKILL');
    proxy?.thaw();
    await proxy?.close();
    await database?.drop();
    await rm(home, { recursive: true, force: true });
  });

  it('exits within API_SHUTDOWN_TIMEOUT_MS and a small margin, a request still in flight', async () => {
    const url = new URL(database.url);
    proxy = await startFreezableProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const proc = startApp('api', {
      DATABASE_URL: url.toString(),
      REDIS_URL: `redis://${REDIS.host}:${REDIS.port}`,
      TRAINYARD_QUEUE: `e2e-${randomUUID()}`,
      TRAINYARD_HOME: home,
      TRAINYARD_ADMIN_KEY: adminKey,
      API_PORT: String(port),
      API_SHUTDOWN_TIMEOUT_MS: String(TIMEOUT_MS),
      LOG_JSON: 'false',
    });
    api = proc;
    await waitFor(
      'the API to be ready',
      async () => ((await fetch(`${baseUrl}/readyz`)).ok ? true : undefined),
      60_000,
      () => proc.output(),
    );
    const exited = new Promise<number | null>((resolve) => proc.child.once('exit', (code) => resolve(code)));
    proxy.freeze();
    // A request that reads the database, left waiting on it.
    const pending = authorizedFetch(adminKey)(`${baseUrl}/v1/runs`).then(
      (response) => response.status,
      (error: Error) => error.message,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stoppedAt = Date.now();
    proc.child.kill('SIGTERM');
    await exited;
    const tookMs = Date.now() - stoppedAt;
    api = undefined;
    // Before, 35 s: the HTTP server's close waited for the request, the request for pg's query deadline.
    expect(tookMs).toBeLessThan(TIMEOUT_MS + 1000);
    expect(tookMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(proc.output()).toContain(
      `shutdown not done within ${TIMEOUT_MS} ms (API_SHUTDOWN_TIMEOUT_MS): exiting without waiting longer for the requests in flight or closing its connections`,
    );
    // The request in flight got an answer or lost its connection; it did not hold the exit.
    await pending;
  }, 120_000);
});
