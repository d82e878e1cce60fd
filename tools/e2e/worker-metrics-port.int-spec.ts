import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createFreshDatabase, type FreshDatabase } from '@trainyard/db/testing';
import { REDIS } from './cluster';
import { freePort, startApp, waitFor, type AppProcess } from './processes';

/**
 * A compiled worker whose WORKER_METRICS_PORT is taken (another worker on the node, a crash-looping
 * pod's leftover): it binds the port before it registers or consumes anything, so it stops at once
 * with one line naming the port and the setting, and leaves no row in `workers` (a lost row that
 * counted as serving for its first 30 s, one more at every restart, before).
 */
describe('a worker whose metrics port is taken (compiled process, PostgreSQL, Redis)', () => {
  let database: FreshDatabase;
  let home: string;
  let taken: Server;
  let worker: AppProcess | undefined;

  beforeAll(async () => {
    database = await createFreshDatabase();
    home = await mkdtemp(join(tmpdir(), 'trainyard-metrics-port-'));
    const port = await freePort();
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
  }, 60_000);

  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await new Promise((resolve) => taken.close(resolve));
    await database.drop();
    await rm(home, { recursive: true, force: true });
  });

  it('exits non-zero with one clear line naming the port and WORKER_METRICS_PORT, registering nothing', async () => {
    const port = (taken.address() as { port: number }).port;
    worker = startApp('worker', {
      DATABASE_URL: database.url,
      REDIS_URL: `redis://${REDIS.host}:${REDIS.port}`,
      TRAINYARD_HOME: home,
      TRAINYARD_QUEUE: `e2e-${randomUUID()}`,
      TRAINYARD_BACKEND: 'wasm',
      WORKER_PRESTART: 'false',
      WORKER_METRICS_PORT: String(port),
      WORKER_METRICS_HOST: '127.0.0.1',
      LOG_JSON: 'false',
    });
    const proc = worker;
    const code = await waitFor(
      'the worker to exit',
      async () => proc.child.exitCode ?? undefined,
      60_000,
      () => proc.output(),
    );
    const output = proc.output();
    expect(code).not.toBe(0);
    const line = `Worker not started: WORKER_METRICS_PORT=${port}: port ${port} on 127.0.0.1 is already in use (EADDRINUSE): stop what listens there or set WORKER_METRICS_PORT to a free port (0: any)`;
    expect(output.trimEnd().split('\n').at(-1)).toBe(line);
    expect(output).not.toMatch(/^\s+at /m); // no stack trace
    expect(output).not.toContain('consuming');

    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      // The migrations ran (the table is there), and no worker was registered in it.
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM "workers"');
      expect(rows[0]!.n).toBe(0);
    } finally {
      await client.end();
    }
  }, 90_000);
});

/** The API's own port taken: the same, one line naming API_PORT (a raw EADDRINUSE and its stack before). */
describe('an API whose port is taken (compiled process, PostgreSQL, Redis)', () => {
  let database: FreshDatabase;
  let taken: Server;
  let api: AppProcess | undefined;

  beforeAll(async () => {
    database = await createFreshDatabase();
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  }, 60_000);

  afterAll(async () => {
    await api?.stop('SIGKILL');
    await new Promise((resolve) => taken.close(resolve));
    await database.drop();
  });

  it('exits 1 with one clear line naming the port and API_PORT', async () => {
    const port = (taken.address() as { port: number }).port;
    api = startApp('api', {
      DATABASE_URL: database.url,
      REDIS_URL: `redis://${REDIS.host}:${REDIS.port}`,
      TRAINYARD_QUEUE: `e2e-${randomUUID()}`,
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      LOG_JSON: 'false',
    });
    const proc = api;
    const code = await waitFor(
      'the API to exit',
      async () => proc.child.exitCode ?? undefined,
      60_000,
      () => proc.output(),
    );
    const output = proc.output();
    expect(code).toBe(1);
    expect(output.trimEnd().split('\n').at(-1)).toBe(
      `API not started: API_PORT=${port}: port ${port} on 127.0.0.1 is already in use (EADDRINUSE): stop what listens there or set API_PORT to a free port`,
    );
    expect(output).not.toMatch(/^\s+at /m);
  }, 90_000);
});
