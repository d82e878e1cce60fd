import { randomUUID } from 'node:crypto';
import { createRedisConnection } from './redis-connection';
import { eachTestQueue, TEST_REDIS_URL } from './testing/test-queue';
import { DEFAULT_JOB_OPTIONS, enqueueRun } from './training-queue';

describe('training queue (real Redis)', () => {
  const current = eachTestQueue();

  it('enqueues a run with jobId = run id, the job name of its kind and only { runId } as data', async () => {
    const runId = randomUUID();
    await enqueueRun(current.queue, { id: runId, kind: 'FINETUNE' }, 4);
    const job = await current.queue.getJob(runId);
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
    await enqueueRun(current.queue, { id: runId, kind: 'PRETRAIN' }, 3);
    await enqueueRun(current.queue, { id: runId, kind: 'PRETRAIN' }, 3);
    expect(await current.queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect((await current.queue.getJob(runId))!.name).toBe('pretrain');
  });

  it('gives workers a connection that BullMQ accepts for blocking commands', async () => {
    const workerConnection = createRedisConnection(TEST_REDIS_URL, { forWorker: true });
    try {
      expect(workerConnection.options.maxRetriesPerRequest).toBeNull();
      expect(await workerConnection.ping()).toBe('PONG');
    } finally {
      await workerConnection.quit();
    }
  });
});
