import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import { loadConfig } from '@trainyard/config';
import { createFreshDatabase, type FreshDatabase } from '@trainyard/db/testing';
import { createWorker } from '../create-worker';
import { READINESS_REDIS_DEADLINE_MS, REDIS_FULL_READINESS, WorkerMetricsServer } from './worker-metrics.server';

const run = promisify(execFile);
/** A Redis of this suite's own, stopped and started again: never the shared one on 6379. */
const PORT = 6392;
const cli = (...args: string[]) =>
  run('redis-cli', ['-h', '127.0.0.1', '-p', String(PORT), ...args], { timeout: 5000 });
const answers = () =>
  cli('ping').then(
    ({ stdout }) => stdout.trim() === 'PONG',
    () => false,
  );

async function until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!done(value)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await probe();
  }
  return value;
}

async function startRedis(dir: string): Promise<void> {
  await run('redis-server', [
    '--port',
    String(PORT),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--maxmemory-policy',
    'noeviction',
    '--dir',
    dir,
    '--daemonize',
    'yes',
  ]);
  await until('Redis to answer', answers, Boolean);
}

async function stopRedis(): Promise<void> {
  await cli('shutdown', 'nosave').catch(() => undefined); // it closes the connection as it exits
  await until('Redis to stop', answers, (up) => !up);
}

/**
 * /readyz says whether the worker can consume, Redis included (its jobs are there): 503 naming
 * Redis while it is down or stalled, 200 again once it is back; /healthz (liveness) stays 200, so
 * Kubernetes restarts no pod over a Redis outage. A real worker on a Redis of its own.
 */
describe('worker /readyz follows Redis (real worker, PostgreSQL, a Redis of its own)', () => {
  let fresh: FreshDatabase;
  let home: string;
  let worker: INestApplicationContext | undefined;
  let base: string;

  beforeAll(async () => {
    fresh = await createFreshDatabase();
    home = await mkdtemp(join(tmpdir(), 'trainyard-worker-readiness-'));
    await startRedis(home);
    const config = loadConfig({
      DATABASE_URL: fresh.url,
      REDIS_URL: `redis://127.0.0.1:${PORT}`,
      TRAINYARD_HOME: home,
      TRAINYARD_QUEUE: `test-${randomUUID()}`,
      TRAINYARD_BACKEND: 'wasm',
      WORKER_PRESTART: 'false',
      WORKER_METRICS_PORT: '0',
      WORKER_RECONCILE_INTERVAL_MS: '3600000',
      WORKER_STALLED_INTERVAL_MS: '1000',
    });
    worker = await createWorker(config, { logger: false });
    base = `http://127.0.0.1:${worker.get(WorkerMetricsServer).port()}`;
  }, 60_000);

  afterAll(async () => {
    if (!(await answers())) await startRedis(home).catch(() => undefined);
    await worker?.close();
    await stopRedis().catch(() => undefined);
    await fresh.drop();
    await rm(home, { recursive: true, force: true });
  });

  const probe = async (path: string) => {
    const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) });
    return [response.status, (await response.text()).trim()] as const;
  };
  const readyz = () => probe('/readyz');

  it('is 503 naming Redis while Redis is down or stalled, 200 once it is back; alive all along', async () => {
    expect(await until('ready', readyz, ([status]) => status === 200)).toEqual([200, 'consuming']);

    await stopRedis();
    const [status, body] = await until('not ready', readyz, ([s]) => s === 503);
    expect(status).toBe(503);
    expect(body).toMatch(/^redis unreachable: /);
    expect(await probe('/healthz')).toEqual([200, 'ok']);

    await startRedis(home);
    expect(await until('ready again', readyz, ([s]) => s === 200)).toEqual([200, 'consuming']);

    // Stalled (every client paused): the PING misses its deadline, and the probe still answers at once.
    await cli('client', 'pause', '3000', 'ALL');
    const started = Date.now();
    expect(await readyz()).toEqual([
      503,
      `redis unreachable: no answer to PING within ${READINESS_REDIS_DEADLINE_MS} ms`,
    ]);
    expect(Date.now() - started).toBeLessThan(READINESS_REDIS_DEADLINE_MS + 1000);
    expect(await probe('/healthz')).toEqual([200, 'ok']);
    expect(await until('ready after the pause', readyz, ([s]) => s === 200)).toEqual([200, 'consuming']);
  }, 60_000);

  it('is 503 while Redis is full (it answers PING, refuses writes), 200 once it takes them again', async () => {
    expect(await until('ready', readyz, ([status]) => status === 200)).toEqual([200, 'consuming']);
    // Full: an idle worker finds out at its stalled-job check (WORKER_STALLED_INTERVAL_MS), a write.
    await cli('config', 'set', 'maxmemory', '1');
    try {
      expect(await until('not ready', readyz, ([s]) => s === 503)).toEqual([503, REDIS_FULL_READINESS]);
      expect(await probe('/healthz')).toEqual([200, 'ok']);
    } finally {
      await cli('config', 'set', 'maxmemory', '0');
    }
    expect(await until('ready again', readyz, ([s]) => s === 200)).toEqual([200, 'consuming']);
  }, 60_000);
});
