import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Queue, type Job } from 'bullmq';
import type { TrainingJobData } from '@trainyard/contracts';
import { createRedisConnection, queueNameFor } from '@trainyard/queue';
import { ClassConsumers } from './class-consumers';

const REDIS_URL = `redis://127.0.0.1:${process.env['TRAINYARD_TEST_REDIS_PORT'] ?? 6379}`;

/**
 * ClassConsumers on the real Redis: a paused worker (a drain) takes nothing, and a job that
 * arrives while it is paused keeps its place in line for any worker, rather than being held back
 * behind the jobs of its priority.
 */
describe('class consumers (real Redis)', () => {
  const processed: string[] = [];
  const { connection, queue, consumers } = consumersOnRealRedis(async (job) => {
    processed.push(job.id!);
  });

  afterAll(async () => {
    await consumers.close(0);
    await queue.obliterate({ force: true });
    await queue.close();
    await connection.quit();
  });

  it('takes nothing while paused, leaves the job first in line, and takes it once resumed', async () => {
    consumers.start();
    // Let the consumer block waiting for a job, as an idle worker does, then pause it (a drain).
    await new Promise((resolve) => setTimeout(resolve, 500));
    await consumers.pause();

    const id = randomUUID();
    await queue.add('pretrain', { runId: id }, { jobId: id, priority: 101 });
    // BullMQ hands the job that woke the blocked call to the paused consumer, which gives it back.
    await waitUntil(async () => (await queue.getJob(id))?.attemptsStarted === 1, 5000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processed).toEqual([]);
    // In line at once, not delayed behind the jobs added meanwhile.
    expect(await queue.getJobState(id)).toBe('prioritized');

    await consumers.resume();
    await waitUntil(async () => processed.includes(id), 10_000);
    expect(processed).toEqual([id]);
  });
});

describe('class consumers closing (real Redis)', () => {
  it('counts a held job until it ends, and gives up waiting for it at its deadline', async () => {
    let taken!: () => void;
    const held = new Promise<void>((resolve) => (taken = resolve));
    let release!: () => void;
    // A training that does not stop when asked (a child hung in native code, say).
    const { connection, queue, consumers } = consumersOnRealRedis(() => {
      taken();
      return new Promise<void>((resolve) => (release = resolve));
    });
    try {
      consumers.start();
      await queue.add('pretrain', { runId: 'hung' }, { jobId: 'hung' });
      await held;
      // Held, so not idle (a drain is not done while a job is between its take and its end).
      let idle = false;
      void consumers.whenIdle().then(() => (idle = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect([consumers.heldJobs, idle]).toEqual([1, false]);
      const started = Date.now();
      expect(await consumers.close(300)).toBe(false);
      expect(Date.now() - started).toBeLessThan(2000);
      // Still held (its lock is the process's until it exits): nothing was completed or failed.
      expect(await queue.getJobState('hung')).toBe('active');
      release();
      expect(await consumers.close(5000)).toBe(true);
      expect([consumers.heldJobs, idle]).toEqual([0, true]);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      await connection.quit();
    }
  });
});

describe('class consumers holding a job Redis lost (real Redis)', () => {
  it('warns once for the job, not an error per lock renewal and per move at its end', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    let taken!: () => void;
    const held = new Promise<void>((resolve) => (taken = resolve));
    let release!: () => void;
    const { connection, queue, consumers } = consumersOnRealRedis(
      () => {
        taken();
        return new Promise<void>((resolve) => (release = resolve));
      },
      { lockDurationMs: 400 },
    );
    try {
      consumers.start();
      await queue.add('pretrain', { runId: 'lost' }, { jobId: 'lost', attempts: 3 });
      await held;
      // A Redis restarted without its data: the job's hash and lock are gone while it trains.
      await connection.del(`bull:${queue.name}:lost`, `bull:${queue.name}:lost:lock`);
      // Several lock renewals (every 200 ms) fail meanwhile; then the run ends and BullMQ cannot move it.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      release();
      await waitUntil(async () => consumers.heldJobs === 0, 5000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const aboutLost = (calls: unknown[][]) => calls.map((c) => String(c[0])).filter((m) => m.includes('lost'));
      expect(aboutLost(error.mock.calls)).toEqual([]);
      const warned = aboutLost(warn.mock.calls);
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(
        /^job lost is no longer this worker's in Redis \(could not renew lock for job lost\): Redis lost it/,
      );
    } finally {
      warn.mockRestore();
      error.mockRestore();
      await consumers.close(5000);
      await queue.obliterate({ force: true });
      await queue.close();
      await connection.quit();
    }
  });
});

/** One consumer of a fresh `any` queue on the real Redis, concurrency 1, calling `process` for each job. */
function consumersOnRealRedis(
  process: (job: Job<TrainingJobData>) => Promise<unknown>,
  timing: { lockDurationMs?: number } = {},
) {
  const connection = createRedisConnection(REDIS_URL, { forWorker: true });
  const queueName = `test-consumers-${randomUUID()}`;
  const queue = new Queue(queueNameFor(queueName, 'any'), { connection: { url: REDIS_URL } });
  const consumers = new ClassConsumers({
    queueName,
    classes: ['any'],
    concurrency: 1,
    connection,
    lockDurationMs: timing.lockDurationMs ?? 5000,
    stalledIntervalMs: 5000,
    maxStalledCount: 1,
    process,
  });
  return { connection, queue, consumers };
}

async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
