import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Cluster, tinyPretrain } from './cluster';
import { freePort, waitFor } from './processes';
import { ThrowawayRedis } from './throwaway-redis';

const FULL_MS = 10_000;
const OOM = /OOM command not allowed/;

/**
 * A worker's Redis fills up mid-training: at `maxmemory` under `noeviction` (the policy BullMQ needs)
 * it still answers reads and PING and refuses every write at once (a Redis of this test's own, its
 * maxmemory set below what it uses). Before, BullMQ's fetch loop tried again at once for such an
 * error and the worker logged about 2,800 lines a second (55,534 in 20 s); now it says once that
 * Redis is full, takes no job meanwhile, lets the training it holds end in PostgreSQL, and once
 * Redis has room says so and takes jobs again, its job finishing in Redis.
 */
describe('a worker whose Redis is full (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;
  let redis: ThrowawayRedis;
  let admin: Redis;
  let queue: Queue;

  beforeAll(async () => {
    redis = new ThrowawayRedis(await freePort());
    await redis.start();
    admin = new Redis(redis.url);
    cluster = await Cluster.start({ REDIS_URL: redis.url });
    queue = new Queue(cluster.queueName, { connection: { url: redis.url } });
  }, 120_000);
  afterAll(async () => {
    await admin?.config('SET', 'maxmemory', '0').catch(() => undefined);
    await queue?.close();
    admin?.disconnect();
    await cluster?.stop();
    await redis?.remove();
  });

  it('says once that Redis is full, takes no job meanwhile, and goes on by itself once it has room', async () => {
    const worker = await cluster.startWorker();
    const epochs = 40;
    const runId = await cluster.submit(tinyPretrain(`redis full ${randomUUID()}`, epochs));
    await cluster.waitForSql('training', `SELECT count(*) >= 1 AS ok FROM checkpoints WHERE run_id = $1`, [runId]);
    const before = worker.output().length;
    await admin.config('SET', 'maxmemory', '1');
    try {
      await new Promise((r) => setTimeout(r, FULL_MS));
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    const during = worker.output().slice(before);
    // Said once, not at every refusal: a few lines (the job's end, the stalled check) at most. The
    // reconciler's pass says it failed once a pass (here every second, by default every 60 s).
    const refusals = during.split('\n').filter((line) => OOM.test(line) && !line.includes('[Reconciler]'));
    expect(refusals.length).toBeLessThan(5);
    expect(during.split('\n').length).toBeLessThan(200);
    expect(during).toMatch(/Redis is full \(it reached its maxmemory/);

    // The training went on in PostgreSQL, in one attempt, every epoch recorded once.
    expect(await cluster.runEnding(runId)).toEqual({
      status: 'SUCCEEDED',
      reason: null,
      outcomes: ['SUCCEEDED'],
      loss: { n: epochs, steps: epochs },
    });

    // Redis has room: the worker says so, its job finishes in Redis, and it takes the next one.
    await waitFor(
      'the worker to take writes again',
      async () => (/Redis takes writes again after \d+ s full/.test(worker.output()) ? true : undefined),
      30_000,
      () => worker.output(),
    );
    await waitFor(
      'the job to complete in Redis',
      async () => ((await queue.getJobState(runId)) === 'completed' ? true : undefined),
      60_000,
    );
    const next = await cluster.submit(tinyPretrain(`after redis was full ${randomUUID()}`, 2));
    expect((await cluster.waitForStatus(next, ['SUCCEEDED', 'FAILED'], 120_000)).status).toBe('SUCCEEDED');
  }, 240_000);
});
