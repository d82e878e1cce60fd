import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { DEFAULT_JOB_OPTIONS } from '@trainyard/queue';
import { REDIS } from '../e2e/cluster';
import { cpuPerUnit, readCpu, type CpuSource } from './cpu-usage';

export interface RawBullmqFigures {
  jobs: number;
  jobsPerS: number;
  /** add → completed, ms, sorted, with every job added at once (queueing included). */
  burstMs: number[];
  /** add → completed, ms, sorted, one job at a time (no queueing). */
  oneAtATimeMs: number[];
  /** CPU per job in the burst, of each of `cpuSources`. */
  burstCpu: ReturnType<typeof cpuPerUnit>;
}

/** Work around each job: before its add (the producer's side) and as its processor. */
export interface JobWork {
  beforeAdd(id: string): Promise<void>;
  process(id: string): Promise<void>;
}

const NO_WORK: JobWork = { beforeAdd: async () => undefined, process: async () => undefined };

/**
 * The floor: a Queue and a Worker in this process on the real Redis, a queue of their own, the
 * training queue's job options and the e2e worker's lock timings, a processor that does nothing.
 * Whatever Trainyard adds on top (HTTP, PostgreSQL, a second process, a child) shows against it.
 * With `work`, the same around each job's add and as its processor (see dispatch-floor.ts).
 */
export async function measureRawBullmq(
  jobs: number,
  oneAtATime: number,
  concurrency: number,
  cpuSources: CpuSource[],
  work: JobWork = NO_WORK,
): Promise<RawBullmqFigures> {
  const name = `bench-dispatch-${randomUUID()}`;
  const connection = { ...REDIS, maxRetriesPerRequest: null };
  const queue = new Queue(name, { connection, defaultJobOptions: DEFAULT_JOB_OPTIONS });
  const addedAt = new Map<string, number>();
  const done = new Map<string, (ms: number) => void>();
  const worker = new Worker(name, (job) => work.process(job.data.runId), {
    connection,
    concurrency,
    lockDuration: 1000,
    stalledInterval: 300,
  });
  // The worker's own 'completed' event: no second Redis round trip between completion and the clock.
  worker.on('completed', (job) => done.get(job.id!)?.(performance.now() - addedAt.get(job.id!)!));
  try {
    await worker.waitUntilReady();
    const addOne = async (): Promise<number> => {
      const id = randomUUID();
      const completed = new Promise<number>((resolve) => done.set(id, resolve));
      addedAt.set(id, performance.now());
      await work.beforeAdd(id);
      await queue.add('noop', { runId: id }, { ...DEFAULT_JOB_OPTIONS, jobId: id });
      return completed;
    };
    // Warm the connections and scripts so the first measured job is not a cold one.
    for (let i = 0; i < 5; i++) await addOne();

    const oneAtATimeMs: number[] = [];
    for (let i = 0; i < oneAtATime; i++) oneAtATimeMs.push(await addOne());

    const cpuBefore = await readCpu(cpuSources);
    const started = performance.now();
    const burstMs = await Promise.all(Array.from({ length: jobs }, addOne));
    const wallS = (performance.now() - started) / 1000;
    const burstCpu = cpuPerUnit(cpuBefore, await readCpu(cpuSources), jobs);
    return {
      jobs,
      jobsPerS: jobs / wallS,
      burstMs: burstMs.sort((a, b) => a - b),
      oneAtATimeMs: oneAtATimeMs.sort((a, b) => a - b),
      burstCpu,
    };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}
