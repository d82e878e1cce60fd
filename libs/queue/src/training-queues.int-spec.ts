import { randomUUID } from 'node:crypto';
import { createRedisConnection } from './redis-connection';
import { eachTestQueue, TEST_REDIS_URL } from './testing/test-queue';
import { Worker } from 'bullmq';
import { SWEEP_RUN_PRIORITY } from '@trainyard/contracts';
import { DEFAULT_JOB_OPTIONS } from './training-queue';
import { bullmqPriority, enqueueRun, queueNameFor } from './training-queues';

describe('training queues (real Redis)', () => {
  const current = eachTestQueue();

  it('enqueues a run with jobId = run id, the job name of its kind and only { runId } as data', async () => {
    const runId = randomUUID();
    await enqueueRun(current.queues, { id: runId, kind: 'FINETUNE', spec: {} }, 4);
    const job = await current.queue.getJob(runId);
    expect(job).toBeDefined();
    expect(job!.id).toBe(runId);
    expect(job!.name).toBe('finetune');
    expect(job!.data).toEqual({ runId });
    expect(job!.opts.attempts).toBe(4);
    expect(job!.opts.backoff).toEqual(DEFAULT_JOB_OPTIONS.backoff);
    // Every job has a priority (BullMQ runs jobs without one before all prioritized ones): 0 → 101.
    expect(job!.opts.priority).toBe(101);
    expect(await job!.getState()).toBe('prioritized');
  });

  it('puts each run in its resource class’s queue, and finds and removes it there', async () => {
    const [gpu, cpu, any] = [randomUUID(), randomUUID(), randomUUID()];
    await enqueueRun(current.queues, { id: gpu, kind: 'FINETUNE', spec: { resources: { accelerator: 'gpu' } } }, 1);
    await enqueueRun(current.queues, { id: cpu, kind: 'PRETRAIN', spec: { resources: { accelerator: 'cpu' } } }, 1);
    await enqueueRun(current.queues, { id: any, kind: 'PRETRAIN', spec: { resources: { memoryGb: 2 } } }, 1);
    const where = async (id: string) =>
      (await Promise.all(current.queues.entries().map(async ([c, q]) => ((await q.getJob(id)) ? c : null)))).filter(
        Boolean,
      );
    expect({ gpu: await where(gpu), cpu: await where(cpu), any: await where(any) }).toEqual({
      gpu: ['gpu'],
      cpu: ['cpu'],
      any: ['any'],
    });
    expect(current.queues.of('gpu').name).toBe(queueNameFor(current.queues.name, 'gpu'));
    expect(current.queues.of('gpu').name).toBe(`${current.queues.name}-gpu`);
    expect((await current.queues.getJob(gpu))?.id).toBe(gpu);
    await current.queues.remove(gpu);
    expect(await current.queues.getJob(gpu)).toBeUndefined();
  });

  it('hands jobs out by priority, highest first, in submission order within one priority; sweep runs after single runs', async () => {
    const runs = [
      { id: 'sweep-1', priority: SWEEP_RUN_PRIORITY },
      { id: 'single-1', priority: undefined },
      { id: 'urgent', priority: 50 },
      { id: 'sweep-2', priority: SWEEP_RUN_PRIORITY },
      { id: 'single-2', priority: 0 },
      { id: 'last', priority: -100 },
    ];
    for (const run of runs)
      await enqueueRun(current.queues, { id: run.id, kind: 'PRETRAIN', spec: { priority: run.priority } }, 1);
    const order: string[] = [];
    const connection = createRedisConnection(TEST_REDIS_URL, { forWorker: true });
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    const worker = new Worker(
      current.queue.name,
      async (job) => {
        order.push(job.id!);
        if (order.length === runs.length) done();
      },
      { connection, concurrency: 1 },
    );
    try {
      await all;
    } finally {
      await worker.close();
      await connection.quit();
    }
    expect(order).toEqual(['urgent', 'single-1', 'single-2', 'sweep-1', 'sweep-2', 'last']);
    expect([bullmqPriority(100), bullmqPriority(0), bullmqPriority(-100)]).toEqual([1, 101, 201]);
  });

  it('does not create a second job when the same run is enqueued twice', async () => {
    const runId = randomUUID();
    await enqueueRun(current.queues, { id: runId, kind: 'PRETRAIN', spec: {} }, 3);
    await enqueueRun(current.queues, { id: runId, kind: 'PRETRAIN', spec: {} }, 3);
    expect(await current.queue.getJobCounts('prioritized')).toEqual({ prioritized: 1 });
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
