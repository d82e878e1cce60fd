import type { LoggerService } from '@nestjs/common';
import { ReadinessSchema } from '@trainyard/contracts';
import { startFreezableProxy, TEST_POSTGRES_ADMIN_URL, type FreezableProxy } from '@trainyard/db/testing';
import { REDIS } from '@trainyard/infrastructure';
import type { Redis } from 'ioredis';
import { startTestApi, type TestApi } from '../testing/test-api';

const DEADLINE_MS = 1000;

/** Every line the API logs, as text. */
function capturingLogger(lines: string[]): LoggerService {
  const keep = (message: unknown) => void lines.push(String(message));
  return { log: keep, error: keep, warn: keep, debug: keep, verbose: keep, fatal: keep };
}

/**
 * `/readyz` is public: a failed dependency is named with a short reason (`timed out after N ms`,
 * `unreachable`), never its own error text (the database's address, Prisma's invocation, ioredis's
 * messages), which goes to the API's log once per change of state, not at every probe.
 */
describe('GET /readyz with dependencies that fail (PostgreSQL behind a proxy, Redis, HTTP)', () => {
  let proxy: FreezableProxy;
  let api: TestApi;
  const logged: string[] = [];
  const readinessLines = () => logged.filter((line) => line.startsWith('readiness:'));

  beforeAll(async () => {
    const server = new URL(TEST_POSTGRES_ADMIN_URL);
    proxy = await startFreezableProxy({ host: server.hostname, port: Number(server.port || 5432) });
    api = await startTestApi({
      env: { REDIS_CONNECT_TIMEOUT_MS: String(DEADLINE_MS) },
      databaseUrl: (fresh) => {
        const url = new URL(fresh);
        url.port = String(proxy.port);
        return url.toString();
      },
      logger: capturingLogger(logged),
    });
  });
  afterAll(async () => {
    proxy?.thaw();
    await api?.stop();
    await proxy?.close();
  });

  /** Three probes, anonymous as a kubelet's: each answer, checked against the contract. */
  const probes = async () => {
    const answers: { status: number; text: string; body: Record<string, unknown> }[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${api.baseUrl}/readyz`);
      const text = await res.text();
      answers.push({ status: res.status, text, body: JSON.parse(text) as Record<string, unknown> });
    }
    // A 503 is a problem whose `status` is the HTTP status: its checks are the report's.
    for (const { body } of answers) ReadinessSchema.shape.checks.parse(body['checks']);
    return answers;
  };

  it('names a stalled database with its deadline, logs why once, and says when it answers again', async () => {
    expect((await probes()).map((a) => a.status)).toEqual([200, 200, 200]);
    expect(readinessLines()).toEqual([]);

    proxy.freeze();
    let stalled: Awaited<ReturnType<typeof probes>>;
    try {
      stalled = await probes();
    } finally {
      proxy.thaw();
    }
    for (const answer of stalled) {
      expect(answer).toMatchObject({
        status: 503,
        body: {
          message: 'Not ready: database failed',
          checks: {
            redis: { ok: true },
            database: { ok: false, error: `timed out after ${DEADLINE_MS} ms` },
            objectStore: { ok: true },
          },
        },
      });
    }
    expect((await probes()).map((a) => a.status)).toEqual([200, 200, 200]);
    expect(readinessLines()).toEqual([
      `readiness: database timed out after ${DEADLINE_MS} ms: timed out after ${DEADLINE_MS} ms`,
      'readiness: database answers again',
    ]);
  });

  // Last: it cuts this app's Redis connection and its database's for good.
  it('answers `unreachable` for a database and a Redis that are gone, never their own error text, which it logs', async () => {
    logged.length = 0;
    api.app.get<Redis>(REDIS).disconnect();
    await proxy.close();
    const answers = await probes();
    for (const answer of answers) {
      expect(answer).toMatchObject({
        status: 503,
        body: {
          message: 'Not ready: redis, database failed',
          checks: {
            redis: { ok: false, error: 'unreachable' },
            database: { ok: false, error: 'unreachable' },
            objectStore: { ok: true },
          },
        },
      });
      // What the walkthrough found there: Prisma's invocation, the server's address, ioredis's words.
      expect(answer.text).not.toMatch(/prisma|invocation|127\.0\.0\.1|ECONN|reach database|Connection is closed/i);
      expect(answer.text).not.toContain(String(proxy.port));
    }
    // Once per dependency for three probes, with what the driver said (the pooled connection lost
    // first, then refused: one state, one line).
    const lines = readinessLines();
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.startsWith('readiness: redis unreachable: '))).toMatch(/Connection is closed/);
    expect(lines.find((l) => l.startsWith('readiness: database unreachable: '))).toMatch(
      /Connection terminated|ECONNREFUSED|reach database/,
    );
  });
});
