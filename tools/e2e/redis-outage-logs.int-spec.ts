import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { authorizedFetch, createFreshDatabase, testAdminKey, type FreshDatabase } from '@trainyard/db/testing';
import { freePort, startApp, waitFor, type AppProcess } from './processes';
import { ThrowawayRedis } from './throwaway-redis';

interface JsonLine {
  level: string;
  context?: string;
  message: string;
  requestId?: string;
}

/** Lines of `text` that are not one JSON object each (blank lines aside). */
function notJson(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => {
      try {
        const value: unknown = JSON.parse(line);
        return typeof value !== 'object' || value === null || Array.isArray(value);
      } catch {
        return true;
      }
    });
}

const linesOf = (text: string): JsonLine[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as JsonLine);

/**
 * The compiled API and worker with LOG_JSON=true, as an operator runs them, through a Redis
 * outage: every line they print is one JSON object (nothing raw from ioredis or BullMQ), the
 * outage is one line per process however many reconnection attempts it takes, and its end
 * another. Starting with Redis down, or on a metrics port in use, is one JSON line too.
 */
describe('JSON logs through a Redis outage (compiled processes, Redis, PostgreSQL)', () => {
  let database: FreshDatabase;
  let redis: ThrowawayRedis;
  let home: string;
  let env: Record<string, string>;
  let baseUrl: string;
  const adminKey = testAdminKey();
  const started: AppProcess[] = [];
  let api: AppProcess;
  let worker: AppProcess;
  let portHolder: Server | undefined;
  let viewer: ReadableStreamDefaultReader<Uint8Array> | undefined;

  const start = (app: 'api' | 'worker', extra: Record<string, string> = {}) => {
    const proc = startApp(app, { ...env, ...extra });
    started.push(proc);
    return proc;
  };
  const exitOf = (proc: AppProcess) =>
    new Promise<number | null>((resolve) =>
      proc.child.exitCode !== null ? resolve(proc.child.exitCode) : proc.child.once('exit', resolve),
    );

  beforeAll(async () => {
    database = await createFreshDatabase();
    redis = new ThrowawayRedis(await freePort());
    await redis.start();
    home = mkdtempSync(join(tmpdir(), 'trainyard-outage-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      TRAINYARD_HOME: home,
      TRAINYARD_QUEUE: `outage-${randomUUID()}`,
      TRAINYARD_ADMIN_KEY: adminKey,
      TRAINYARD_BACKEND: 'wasm',
      WORKER_PRESTART: 'false',
      API_PORT: String(port),
      LOG_JSON: 'true',
    };
    api = start('api');
    await waitFor(
      'the API to be ready',
      async () => ((await fetch(`${baseUrl}/readyz`)).ok ? true : undefined),
      60_000,
      () => api.output(),
    );
    // A run no CPU worker takes, and a viewer of its events: the API's event readers (QueueEvents,
    // on connections of their own) are open through the outage too.
    const submit = await authorizedFetch(adminKey)(`${baseUrl}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'pretrain',
        name: 'waits for a GPU',
        dataset: { name: 'synthetic-shapes' },
        resources: { accelerator: 'gpu' },
      }),
    });
    expect(submit.status).toBe(201);
    const { id } = (await submit.json()) as { id: string };
    const events = await authorizedFetch(adminKey)(`${baseUrl}/v1/runs/${id}/events`);
    expect(events.status).toBe(200);
    viewer = events.body?.getReader();
    await viewer?.read();
    worker = start('worker');
    await waitFor(
      'the worker to consume',
      async () => (/consuming \\"/.test(worker.output()) ? true : undefined),
      60_000,
      () => worker.output(),
    );
  }, 120_000);

  afterAll(async () => {
    // A failed test may leave Redis down, which a worker's shutdown would wait on: SIGKILL after 10 s.
    await Promise.all(
      started.map(async (proc) => {
        const kill = setTimeout(() => void proc.stop('SIGKILL'), 10_000);
        await proc.stop();
        clearTimeout(kill);
      }),
    );
    await viewer?.cancel().catch(() => undefined);
    await new Promise<void>((resolve) => (portHolder ? portHolder.close(() => resolve()) : resolve()));
    await redis?.remove();
    await database?.drop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('logs the outage once per process, as JSON, and its end once Redis is back on the same port', async () => {
    const from = { api: api.output().length, worker: worker.output().length };
    await redis.kill();
    await new Promise((r) => setTimeout(r, 5000));

    for (const [name, proc] of [
      ['api', api],
      ['worker', worker],
    ] as const) {
      const during = proc.output().slice(from[name]);
      expect({ name, notJson: notJson(during) }).toEqual({ name, notJson: [] });
      const aboutRedis = linesOf(during).filter((l) => /redis|ECONNREFUSED/i.test(l.message));
      // One line for the outage, not one per reconnection attempt (there were dozens in 5 s).
      // The first failure may be a write to the socket the crash reset (EPIPE, ECONNRESET).
      expect({ name, lines: aboutRedis.map((l) => l.message) }).toEqual({
        name,
        lines: [
          expect.stringMatching(
            new RegExp(
              `^Redis at 127\\.0\\.0\\.1:${redis.port} unreachable \\((ECONNREFUSED|EPIPE|ECONNRESET)\\); retrying$`,
            ),
          ),
        ],
      });
      expect(aboutRedis[0]).toMatchObject({ level: 'error', context: 'Redis' });
      expect(aboutRedis[0]!.requestId).toBeUndefined();
    }

    // Starting while Redis is down: the refusal is one JSON line too.
    const refused = start('api', { API_PORT: String(await freePort()), REDIS_CONNECT_TIMEOUT_MS: '1000' });
    expect(await exitOf(refused)).toBe(1);
    expect(notJson(refused.output())).toEqual([]);
    expect(linesOf(refused.output()).at(-1)).toMatchObject({
      level: 'error',
      message: expect.stringContaining(`127.0.0.1:${redis.port}`),
    });

    await redis.start();
    for (const proc of [api, worker]) {
      const back = await waitFor(
        'the line saying Redis is back',
        async () =>
          linesOf(proc.output()).find((l) => l.message.startsWith(`Redis at 127.0.0.1:${redis.port} reachable again`)),
        15_000,
        () => proc.output(),
      );
      expect(back).toMatchObject({ level: 'log', context: 'Redis' });
      expect(notJson(proc.output())).toEqual([]);
      const outage = linesOf(proc.output()).filter((l) => l.context === 'Redis');
      expect(outage).toHaveLength(2);
    }
    await waitFor(
      'the API to be ready again',
      async () => ((await fetch(`${baseUrl}/readyz`)).ok ? true : undefined),
      15_000,
    );
  }, 60_000);

  it('a worker whose metrics port is taken says so in one JSON line and exits 1', async () => {
    await redis.start(); // should the test before have failed with it down
    portHolder = createServer();
    const port = await new Promise<number>((resolve) =>
      portHolder!.listen(0, '127.0.0.1', () => resolve((portHolder!.address() as { port: number }).port)),
    );
    const refused = start('worker', { WORKER_METRICS_PORT: String(port) });
    expect(await exitOf(refused)).toBe(1);
    expect(notJson(refused.output())).toEqual([]);
    expect(linesOf(refused.output()).at(-1)).toMatchObject({
      level: 'error',
      message: expect.stringContaining('EADDRINUSE'),
    });
  }, 60_000);
});
