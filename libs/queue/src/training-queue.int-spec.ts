import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createRedisConnection } from './redis-connection';
import { DEFAULT_JOB_OPTIONS, createTrainingQueue, enqueueRun, type TrainingQueue } from './training-queue';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('training queue (real Redis)', () => {
  let connection: Redis;
  let queue: TrainingQueue;

  beforeEach(() => {
    connection = createRedisConnection(REDIS_URL);
    queue = createTrainingQueue(connection, `test-${randomUUID()}`);
  });

  afterEach(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    await connection.quit();
  });

  it('enqueues a run with jobId = run id, the job name of its kind and only { runId } as data', async () => {
    const runId = randomUUID();
    await enqueueRun(queue, { id: runId, kind: 'FINETUNE' }, 4);
    const job = await queue.getJob(runId);
    expect(job).toBeDefined();
    expect(job!.id).toBe(runId);
    expect(job!.name).toBe('finetune');
    expect(job!.data).toEqual({ runId });
    expect(job!.opts.attempts).toBe(4);
    expect(job!.opts.backoff).toEqual(DEFAULT_JOB_OPTIONS.backoff);
    expect(await job!.getState()).toBe('waiting');
  });

  it('does not create a second job when the same run is enqueued twice', async () => {
    const runId = randomUUID();
    await enqueueRun(queue, { id: runId, kind: 'PRETRAIN' }, 3);
    await enqueueRun(queue, { id: runId, kind: 'PRETRAIN' }, 3);
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect((await queue.getJob(runId))!.name).toBe('pretrain');
  });

  it('gives workers a connection that BullMQ accepts for blocking commands', async () => {
    const workerConnection = createRedisConnection(REDIS_URL, { forWorker: true });
    try {
      expect(workerConnection.options.maxRetriesPerRequest).toBeNull();
      expect(await workerConnection.ping()).toBe('PONG');
    } finally {
      await workerConnection.quit();
    }
  });
});
