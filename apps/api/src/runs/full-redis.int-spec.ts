import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RunsRepository } from '@trainyard/db';
import { startPrivateRedis, type PrivateRedis } from '../testing/private-redis';
import { startTestApi, type TestApi } from '../testing/test-api';
import { timedRequest } from '../testing/timed-request';

const FULL =
  /could not be queued because Redis is full \(it reached its maxmemory .*\), so it was marked FAILED; submit it again once Redis has room$/;

/**
 * A Redis that is up but full: at `maxmemory` under `noeviction` it answers PING and reads and
 * refuses every write (a private redis-server whose maxmemory the test sets below what it uses).
 * A submit is recorded, refused by Redis, marked FAILED with Redis's words, and answered 503 saying
 * Redis is full, not "once Redis is back" (it never went away); a keyed replay says the same; what
 * PostgreSQL answers goes on; once Redis has room, submits are queued again with no restart.
 */
describe('API with a Redis that is full (maxmemory, noeviction)', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  let api: TestApi;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    admin = new Redis(redis.url);
    api = await startTestApi({ env: { REDIS_URL: redis.url, REDIS_CONNECT_TIMEOUT_MS: '1000' } });
  });

  afterAll(async () => {
    admin?.disconnect();
    await api?.stop();
    await redis?.stop();
  });

  const timed = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    timedRequest(api, 10_000, method, path, body, headers);
  const pretrain = (name: string) => ({ kind: 'pretrain', name, dataset: { name: 'synthetic-shapes' } });

  it('answers a submit 503 saying Redis is full, the run FAILED with the reason, and queues again once it has room', async () => {
    const before = await timed('POST', '/v1/runs', pretrain('before Redis is full'));
    expect(before).toMatchObject({ status: 201, body: { status: 'QUEUED' } });
    const beforeId = before.body['id'] as string;

    await admin.config('SET', 'maxmemory', '1');
    try {
      const key = { 'idempotency-key': `full-${randomUUID()}` };
      const submitted = await timed('POST', '/v1/runs', pretrain('while Redis is full'), key);
      expect(submitted).toMatchObject({
        status: 503,
        body: {
          message: expect.stringMatching(FULL),
          reason: expect.stringMatching(/^Could not enqueue the run: OOM command not allowed/),
        },
      });
      const runId = submitted.body['runId'] as string;
      expect(await api.app.get(RunsRepository).get(runId)).toMatchObject({
        status: 'FAILED',
        failureReason: submitted.body['reason'],
      });
      // Its replay gets the same answer, the same run.
      expect(await timed('POST', '/v1/runs', pretrain('while Redis is full'), key)).toMatchObject({
        status: 503,
        body: { runId, message: expect.stringMatching(FULL) },
      });
      // What PostgreSQL answers goes on, and the API stays ready: PING and reads still work.
      expect(await timed('GET', `/v1/runs/${beforeId}`)).toMatchObject({ status: 200, body: { status: 'QUEUED' } });
      expect(await timed('GET', '/v1/queues')).toMatchObject({ status: 200 });
      expect(await timed('GET', '/readyz')).toMatchObject({ status: 200 });
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }

    const after = await timed('POST', '/v1/runs', pretrain('after Redis had room'));
    expect(after).toMatchObject({ status: 201, body: { status: 'QUEUED' } });
    expect(await api.queue.getJob(after.body['id'] as string)).toBeDefined();
  });
});
