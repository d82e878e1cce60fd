import { randomUUID } from 'node:crypto';
import { createRedisConnection } from './redis-connection';
import { eachTestQueue, TEST_REDIS_URL } from './testing/test-queue';
import { Worker } from 'bullmq';
import { SWEEP_RUN_PRIORITY } from '@trainyard/contracts';
import { DEFAULT_JOB_OPTIONS } from './training-queue';
import {
  bullmqPriority,
  ENQUEUE_CHUNK_SIZE,
  PARKED_JOB_DELAY_MS,
  enqueueRun,
  enqueueRuns,
  queueNameFor,
  type EnqueuedRun,
} from './training-queues';

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
    // Where each stands before anyone takes one: checked against the order BullMQ then hands them out.
    const ahead = Object.fromEntries(
      await Promise.all(
        runs.map(async (run) => [
          run.id,
          (await current.queues.positionOf({ id: run.id, spec: { priority: run.priority }, project: 'default' })).ahead,
        ]),
      ),
    );
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
    expect(order.map((id) => ahead[id])).toEqual([0, 1, 2, 3, 4, 5]);
    expect([bullmqPriority(100), bullmqPriority(0), bullmqPriority(-100)]).toEqual([1, 101, 201]);
  });

  it('says where a run stands: in line with the jobs ahead of it, or not in line (delayed, parked, none, in another class)', async () => {
    const [queued, delayed] = [randomUUID(), randomUUID()];
    await enqueueRun(current.queues, { id: queued, kind: 'PRETRAIN', spec: {} }, 1);
    // As a job given back waits: delayed, not in line yet.
    await current.queue.add('pretrain', { runId: delayed }, { jobId: delayed, priority: 101, delay: 60_000 });
    expect(await current.queues.positionOf({ id: queued, spec: {}, project: 'default' })).toEqual({
      queue: current.queue.name,
      jobState: 'prioritized',
      ahead: 0,
      parked: false,
    });
    expect(await current.queues.positionOf({ id: delayed, spec: {}, project: 'default' })).toMatchObject({
      jobState: 'delayed',
      ahead: null,
      parked: false,
    });
    // Recorded as parked for its project (and only for its own).
    await current.queues.park(delayed, 'default', 101, Date.now());
    expect(await current.queues.positionOf({ id: delayed, spec: {}, project: 'default' })).toMatchObject({
      jobState: 'delayed',
      parked: true,
    });
    expect((await current.queues.positionOf({ id: delayed, spec: {}, project: 'vision' })).parked).toBe(false);
    await current.connection.del(`trainyard:${current.queues.name}:parked:default`);
    expect(await current.queues.positionOf({ id: randomUUID(), spec: {}, project: 'default' })).toMatchObject({
      jobState: null,
      ahead: null,
    });
    // A run is looked for in its own class's queue.
    expect(
      await current.queues.positionOf({ id: queued, spec: { resources: { accelerator: 'gpu' } }, project: 'default' }),
    ).toEqual({
      queue: `${current.queues.name}-gpu`,
      jobState: null,
      ahead: null,
      parked: false,
    });
  });

  it("lets a project's parked jobs back in line, by priority then submission, as many as asked, dropping stale entries", async () => {
    const { queues, connection } = current;
    const delayed = async (id: string, priority: number, resources?: { accelerator: 'gpu' }) => {
      // As a worker parks a job: in its class's queue, delayed far past the test.
      const job = await queues
        .of(resources ? 'gpu' : 'any')
        .add('finetune', { runId: id }, { jobId: id, priority: bullmqPriority(priority), delay: 600_000 });
      await queues.park(id, 'vision', job.priority, job.timestamp);
      // Submitted a millisecond apart at least: ages differ.
      await new Promise((resolve) => setTimeout(resolve, 2));
      return job;
    };
    const [low, high, gpuHigh, later, gone, taken, first] = Array.from({ length: 7 }, () => randomUUID());
    // Submitted before every other, parked last: parked again after losing a race for a place, say.
    const firstJob = await delayed(first, -10);
    await connection.zrem(`trainyard:${queues.name}:parked:vision`, first);
    await delayed(low, -10);
    await delayed(high, 10);
    await delayed(gpuHigh, 10, { accelerator: 'gpu' });
    await delayed(gone, 50);
    await delayed(taken, 50);
    await delayed(later, -10);
    await queues.park(first, 'vision', firstJob.priority, firstJob.timestamp);
    await queues.park(randomUUID(), 'other', 1, Date.now());
    // Cancelled meanwhile; and back in line already (its delay ran out, say).
    await queues.of('any').remove(gone);
    await (await queues.getJob(taken))!.promote();
    // Jobs of the same priorities that were in line behind the parked ones all along.
    const [inLineHigh, inLineLow] = [randomUUID(), randomUUID()];
    await enqueueRun(queues, { id: inLineHigh, kind: 'FINETUNE', spec: { priority: 10 } }, 1);
    await enqueueRun(queues, { id: inLineLow, kind: 'FINETUNE', spec: { priority: -10 } }, 1);

    const stateOf = async (id: string) => (await queues.getJob(id))!.getState();
    const aheadOf = async (id: string, priority: number) =>
      (await queues.positionOf({ id, spec: { priority }, project: 'vision' })).ahead;
    expect(await queues.releaseParked('vision', 2)).toEqual([high, gpuHigh]);
    expect([await stateOf(high), await stateOf(gpuHigh), await stateOf(low)]).toEqual([
      'prioritized',
      'prioritized',
      'delayed',
    ]);
    // Back where a worker took it from: ahead of its priority's jobs in line, behind higher ones.
    expect(await aheadOf(taken, 50)).toBe(0);
    expect(await aheadOf(high, 10)).toBe(1);
    expect(await aheadOf(inLineHigh, 10)).toBe(2);
    expect(await queues.releaseParked('vision', 1)).toEqual([first]);
    expect(await queues.releaseParked('vision', 5)).toEqual([low, later]);
    expect(await aheadOf(inLineLow, -10)).toBe(6);
    expect(await queues.releaseParked('vision', 5)).toEqual([]);
    expect(await queues.hasParked('vision')).toBe(false);
    expect(await queues.hasParked('other')).toBe(true);
    expect(await connection.zcard(`trainyard:${queues.name}:parked:other`)).toBe(1);
    // Each record expires after its last park, well after a parked job's own delay.
    expect(await connection.pttl(`trainyard:${queues.name}:parked:other`)).toBeGreaterThan(PARKED_JOB_DELAY_MS);
    await connection.del(`trainyard:${queues.name}:parked:other`);
  });

  it('does not create a second job when the same run is enqueued twice', async () => {
    const runId = randomUUID();
    await enqueueRun(current.queues, { id: runId, kind: 'PRETRAIN', spec: {} }, 3);
    await enqueueRun(current.queues, { id: runId, kind: 'PRETRAIN', spec: {} }, 3);
    expect(await current.queue.getJobCounts('prioritized')).toEqual({ prioritized: 1 });
    expect((await current.queue.getJob(runId))!.name).toBe('pretrain');
  });

  describe('in bulk (enqueueRuns)', () => {
    const runs: EnqueuedRun[] = [
      { id: randomUUID(), kind: 'FINETUNE', spec: { resources: { accelerator: 'gpu' }, priority: 50 } },
      { id: randomUUID(), kind: 'EVALUATE', spec: { resources: { accelerator: 'gpu' } } },
      { id: randomUUID(), kind: 'PRETRAIN', spec: { resources: { accelerator: 'cpu' }, priority: -100 } },
      { id: randomUUID(), kind: 'FINETUNE', spec: { priority: SWEEP_RUN_PRIORITY } },
      { id: randomUUID(), kind: 'FINETUNE', spec: {} },
    ];
    /** Every job of every class's queue, as [class, id, name, data, attempts, priority], sorted by id. */
    const jobs = async () =>
      (
        await Promise.all(
          current.queues
            .entries()
            .map(async ([c, q]) =>
              (await q.getJobs()).map((j) => [c, j.id, j.name, j.data, j.opts.attempts, j.opts.priority] as const),
            ),
        )
      )
        .flat()
        .sort((a, b) => a[1]!.localeCompare(b[1]!));

    it('puts each run in its class’s queue with the job enqueueRun would give it', async () => {
      await enqueueRuns(current.queues, runs, 3);
      const bulk = await jobs();
      await Promise.all(current.queues.entries().map(([, q]) => q.obliterate({ force: true })));
      expect(await jobs()).toEqual([]);
      for (const run of runs) await enqueueRun(current.queues, run, 3);
      expect(bulk).toEqual(await jobs());
      const [gpuUrgent, gpu, cpuLast, sweep, plain] = runs.map((r) => r.id);
      expect(bulk).toEqual(
        [
          ['gpu', gpuUrgent, 'finetune', { runId: gpuUrgent }, 3, bullmqPriority(50)],
          ['gpu', gpu, 'evaluate', { runId: gpu }, 3, bullmqPriority(0)],
          ['cpu', cpuLast, 'pretrain', { runId: cpuLast }, 3, bullmqPriority(-100)],
          ['any', sweep, 'finetune', { runId: sweep }, 3, bullmqPriority(SWEEP_RUN_PRIORITY)],
          ['any', plain, 'finetune', { runId: plain }, 3, bullmqPriority(0)],
        ].sort((a, b) => (a[1] as string).localeCompare(b[1] as string)),
      );
      expect((await current.queues.getJob(gpu))!.opts.backoff).toEqual(DEFAULT_JOB_OPTIONS.backoff);
    });

    it('adds nothing for runs whose jobs exist (job id = run id), whatever the options', async () => {
      await enqueueRuns(current.queues, runs, 3);
      const before = await jobs();
      await enqueueRuns(current.queues, runs, 3);
      await enqueueRuns(
        current.queues,
        runs.map((run) => ({ ...run, spec: { ...run.spec, priority: 100 } })),
        9,
      );
      expect(await jobs()).toEqual(before);
    });

    it('sends ENQUEUE_CHUNK_SIZE jobs per addBulk, one class’s queue at a time', async () => {
      const many: EnqueuedRun[] = Array.from({ length: ENQUEUE_CHUNK_SIZE + 1 }, () => ({
        id: randomUUID(),
        kind: 'PRETRAIN',
        spec: {},
      }));
      const gpu: EnqueuedRun = { id: randomUUID(), kind: 'PRETRAIN', spec: { resources: { accelerator: 'gpu' } } };
      const addBulk = jest.spyOn(current.queue, 'addBulk');
      const addBulkGpu = jest.spyOn(current.queues.of('gpu'), 'addBulk');
      await enqueueRuns(current.queues, [...many, gpu], 1);
      expect(addBulk.mock.calls.map(([chunk]) => chunk.length)).toEqual([ENQUEUE_CHUNK_SIZE, 1]);
      expect(addBulkGpu.mock.calls.map(([chunk]) => chunk.length)).toEqual([1]);
      expect(await current.queue.getJobCounts('prioritized')).toEqual({ prioritized: ENQUEUE_CHUNK_SIZE + 1 });
      expect((await current.queue.getJob(many.at(-1)!.id))?.data).toEqual({ runId: many.at(-1)!.id });
    });
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
