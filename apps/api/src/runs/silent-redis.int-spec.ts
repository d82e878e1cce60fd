import { randomUUID } from 'node:crypto';
import { RunsRepository } from '@trainyard/db';
import { serverSentEvents } from '@trainyard/db/testing';
import { startPrivateRedis, type PrivateRedis } from '../testing/private-redis';
import { startTestApi, type TestApi } from '../testing/test-api';
import { timedRequest } from '../testing/timed-request';

const DEADLINE_MS = 1000;
/** Requests a minute per key: enough for the first test, few enough for the second to run out. */
const RATE_LIMIT = 25;
/** What a request may take while Redis is silent: its Redis deadlines and some slack for a loaded machine. */
const ANSWERED_WITHIN_MS = 2 * DEADLINE_MS + 1500;

/**
 * A Redis that accepts connections and never answers (a private redis-server, SIGSTOPped): what
 * the API does with what needs Redis (503 within its deadline, the run FAILED with the reason)
 * and with what does not (answered from PostgreSQL as usual). Every request is bounded by its own
 * timeout, so a test that hangs fails on it rather than on Jest's.
 */
describe('API with a Redis that accepts connections and never answers', () => {
  let redis: PrivateRedis;
  let api: TestApi;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    api = await startTestApi({
      env: {
        REDIS_URL: redis.url,
        REDIS_CONNECT_TIMEOUT_MS: String(DEADLINE_MS),
        RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
      },
    });
  });

  afterAll(async () => {
    redis?.thaw();
    await api?.stop();
    await redis?.stop();
  });

  /** One request, with how long it took; given up (status 0) well after ANSWERED_WITHIN_MS. */
  const timed = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    timedRequest(api, 3 * ANSWERED_WITHIN_MS, method, path, body, headers);

  const pretrain = (name: string) => ({ kind: 'pretrain', name, dataset: { name: 'synthetic-shapes' } });

  it('answers what needs Redis with a 503 within its deadline and everything else as usual; all of it again once Redis answers', async () => {
    // Before the stall: a keyed run, QUEUED with its job.
    const key = { 'idempotency-key': `stall-${randomUUID()}` };
    const keyed = await timed('POST', '/v1/runs', pretrain('before the stall'), key);
    expect(keyed).toMatchObject({ status: 201, body: { status: 'QUEUED' } });
    const keyedId = keyed.body['id'] as string;
    expect(await api.queue.getJob(keyedId)).toBeDefined();

    redis.freeze();
    try {
      // What PostgreSQL answers goes on (the request rate limiter counts in this process meanwhile).
      for (let i = 0; i < 3; i++) {
        const read = await timed('GET', `/v1/runs/${keyedId}`);
        expect(read).toMatchObject({ status: 200, body: { id: keyedId, status: 'QUEUED' } });
        expect(read.ms).toBeLessThan(ANSWERED_WITHIN_MS);
      }

      // A viewer of the run's live events gets its status at once (events follow once Redis answers).
      const started = Date.now();
      const watching = new AbortController();
      try {
        const stream = await api.fetch(`${api.baseUrl}/v1/runs/${keyedId}/events`, {
          signal: AbortSignal.any([watching.signal, AbortSignal.timeout(3 * ANSWERED_WITHIN_MS)]),
        });
        const { value: first } = await serverSentEvents(stream).next();
        expect(first).toMatchObject({ event: 'status', data: expect.stringContaining('"QUEUED"') });
        expect(Date.now() - started).toBeLessThan(ANSWERED_WITHIN_MS);
      } finally {
        watching.abort();
      }

      // A replay of the keyed submit gets the first answer; its job is not added again now.
      const replay = await timed('POST', '/v1/runs', pretrain('before the stall'), key);
      expect(replay).toMatchObject({ status: 201, body: { id: keyedId, status: 'QUEUED' } });
      expect(replay.ms).toBeLessThan(ANSWERED_WITHIN_MS);

      // A new run: recorded, not queued, FAILED with the reason, and a 503 that says so.
      const submitted = await timed('POST', '/v1/runs', pretrain('during the stall'));
      expect(submitted).toMatchObject({
        status: 503,
        body: {
          runId: expect.any(String),
          reason: `Could not enqueue the run: Redis did not answer within ${DEADLINE_MS} ms`,
        },
      });
      expect(submitted.ms).toBeLessThan(ANSWERED_WITHIN_MS);
      expect(await api.app.get(RunsRepository).get(submitted.body['runId'] as string)).toMatchObject({
        status: 'FAILED',
        failureReason: submitted.body['reason'],
      });

      // Cancelling a waiting run is PostgreSQL's answer; its job, not removed now, is skipped by
      // the worker that takes it (the run is CANCELLED).
      const cancelled = await timed('POST', `/v1/runs/${keyedId}/cancel`);
      expect(cancelled).toMatchObject({ status: 200, body: { id: keyedId, status: 'CANCELLED' } });
      expect(cancelled.ms).toBeLessThan(ANSWERED_WITHIN_MS);

      // Where a run stands is Redis's to say: a 503 naming it.
      const position = await timed('GET', `/v1/runs/${keyedId}/queue`);
      expect(position).toMatchObject({ status: 503, body: { message: expect.stringMatching(/Redis/) } });
      expect(position.ms).toBeLessThan(ANSWERED_WITHIN_MS);

      // The queues page needs BullMQ's counts: a 503 naming Redis, not a 500 or a hang.
      const queues = await timed('GET', '/v1/queues');
      expect(queues).toMatchObject({ status: 503, body: { message: expect.stringMatching(/Redis/) } });
      expect(queues.ms).toBeLessThan(ANSWERED_WITHIN_MS);

      const ready = await timed('GET', '/readyz');
      expect(ready).toMatchObject({ status: 503, body: { checks: { redis: { ok: false }, database: { ok: true } } } });
      expect(ready.ms).toBeLessThan(ANSWERED_WITHIN_MS);
      expect(await timed('GET', '/healthz')).toMatchObject({ status: 200 });
    } finally {
      redis.thaw();
    }

    // Redis answers again: so does everything, with no restart of the API.
    const after = await timed('POST', '/v1/runs', pretrain('after the stall'));
    expect(after).toMatchObject({ status: 201, body: { status: 'QUEUED' } });
    expect(await api.queue.getJob(after.body['id'] as string)).toBeDefined();
    expect(await timed('GET', '/v1/queues')).toMatchObject({ status: 200 });
    expect(await timed('GET', '/readyz')).toMatchObject({ status: 200 });
  });

  it('still limits requests while Redis is silent, counting them in the process', async () => {
    redis.freeze();
    try {
      const answers: { status: number; ms: number }[] = [];
      for (let i = 0; i <= RATE_LIMIT; i++) {
        const answer = await timed('GET', '/v1/runs?limit=1');
        answers.push(answer);
        if (answer.status === 429) break;
      }
      expect(answers.at(-1)).toMatchObject({ status: 429, body: { retryAfterSeconds: expect.any(Number) } });
      expect(answers.slice(0, -1).every((a) => a.status === 200)).toBe(true);
      expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(ANSWERED_WITHIN_MS);
    } finally {
      redis.thaw();
    }
  });
});
