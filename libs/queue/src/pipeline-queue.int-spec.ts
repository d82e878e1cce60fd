import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { advancePipeline, applyPipelineDecision, type PipelineDecision } from './pipeline-queue';
import { createRedisConnection } from './redis-connection';
import { eachTestQueue, TEST_REDIS_URL } from './testing/test-queue';
import { enqueueRun, enqueueRuns, TrainingQueues, type EnqueuedRun } from './training-queues';

describe('the queue side of a pipeline decision (real Redis)', () => {
  const current = eachTestQueue();

  it('advances, removes the jobs of cancelled runs, enqueues released ones, and returns the decision', async () => {
    const [cancelled, released] = [randomUUID(), randomUUID()];
    await enqueueRun(current.queues, { id: cancelled, kind: 'FINETUNE', spec: {} }, 3);
    const decision = {
      status: 'RUNNING',
      released: [{ id: released, kind: 'EVALUATE' as const, spec: { resources: { accelerator: 'gpu' as const } } }],
      cancelled: [cancelled],
    };
    const asked: string[] = [];
    const pipelineId = randomUUID();
    const enqueue = (runs: readonly EnqueuedRun[]) => enqueueRuns(current.queues, runs, 4);
    const outcome = await advancePipeline(
      { advance: async (id) => (asked.push(id), decision) },
      pipelineId,
      current.queues,
      { enqueue },
    );

    expect(asked).toEqual([pipelineId]);
    expect(outcome).toBe(decision);
    expect(await current.queues.getJob(cancelled)).toBeUndefined();
    // In its class's queue.
    const job = await current.queues.of('gpu').getJob(released);
    expect({ name: job?.name, data: job?.data, attempts: job?.opts.attempts }).toEqual({
      name: 'evaluate',
      data: { runId: released },
      attempts: 4,
    });
  });

  it('enqueues the released runs through the caller’s enqueue, in one call, in order, and leaves a job a worker holds in place', async () => {
    const held = randomUUID();
    await enqueueRun(current.queues, { id: held, kind: 'PRETRAIN', spec: {} }, 1);
    let release!: () => void;
    let taken!: () => void;
    const holding = new Promise<void>((resolve) => (taken = resolve));
    const workerConnection = createRedisConnection(TEST_REDIS_URL, { forWorker: true });
    const worker = new Worker(current.queue.name, () => (taken(), new Promise<void>((done) => (release = done))), {
      connection: workerConnection,
    });
    try {
      await holding;
      const enqueued: string[][] = [];
      const failures: string[] = [];
      const decision: PipelineDecision = {
        released: [
          { id: 'r1', kind: 'FINETUNE', spec: {} },
          { id: 'r2', kind: 'FINETUNE', spec: {} },
        ],
        cancelled: [held],
      };
      await applyPipelineDecision(current.queues, decision, {
        enqueue: async (runs) => void enqueued.push(runs.map((run) => run.id)),
        onRemoveFailed: (id) => failures.push(id),
      });

      expect(enqueued).toEqual([['r1', 'r2']]);
      // A decision that releases nothing does not call it.
      await applyPipelineDecision(
        current.queues,
        { released: [], cancelled: [] },
        {
          enqueue: async (runs) => void enqueued.push(runs.map((run) => run.id)),
        },
      );
      expect(enqueued).toHaveLength(1);
      expect(await current.queues.getJob('r1')).toBeUndefined();
      // Removing a locked job is refused without an error; its worker finds the run CANCELLED.
      expect(failures).toEqual([]);
      expect(await (await current.queue.getJob(held))!.getState()).toBe('active');
    } finally {
      release?.();
      await worker.close();
      await workerConnection.quit();
    }
  });

  it('reports each job it could not remove and still tries the rest; an enqueue that fails rejects', async () => {
    const lost = createRedisConnection(TEST_REDIS_URL);
    const unreachable = new TrainingQueues(lost, current.queues.name);
    await lost.quit();
    try {
      const failures: [string, string][] = [];
      const decision: PipelineDecision = {
        released: [{ id: randomUUID(), kind: 'FINETUNE', spec: {} }],
        cancelled: ['a', 'b'],
      };
      await expect(
        applyPipelineDecision(unreachable, decision, {
          enqueue: (runs) => enqueueRuns(unreachable, runs, 1),
          onRemoveFailed: (id, error) => failures.push([id, error.message]),
        }),
      ).rejects.toThrow(/closed/i);
      expect(failures).toEqual([
        ['a', expect.stringMatching(/closed/i)],
        ['b', expect.stringMatching(/closed/i)],
      ]);
    } finally {
      await unreachable.close().catch(() => undefined);
    }
  });
});
