import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  JOB_NAMES,
  priorityOf,
  RESOURCE_CLASSES,
  resourceClassOf,
  specKindOf,
  TRAINING_QUEUE,
  type Placement,
  type ResourceClass,
  type RunKind,
  type TrainingJobData,
} from '@trainyard/contracts';
import { createTrainingQueue, DEFAULT_JOB_OPTIONS, type TrainingQueue } from './training-queue';

/** The queue of a class: `any` keeps the deployment's queue name, the others get a suffix. */
export function queueNameFor(base: string, resourceClass: ResourceClass): string {
  return resourceClass === 'any' ? base : `${base}-${resourceClass}`;
}

/**
 * How long a worker parks a job whose project trains as many runs as its limit allows (BullMQ's
 * delayed set): it comes back in line when a run of the project ends (`releaseParked`), after this
 * long in any case, should no release reach it (a worker killed as its run ended, the limit raised).
 */
export const PARKED_JOB_DELAY_MS = 60_000;
/**
 * A project's record of parked jobs expires this long after its last park: entries left by jobs
 * that were cancelled, or came back on their own and trained, do not outlive it. A job still
 * parked is never lost by it: its delay runs out first, and a worker parks it again or trains it.
 */
const PARKED_RECORD_TTL_MS = 10 * PARKED_JOB_DELAY_MS;

/**
 * BullMQ's priority for a run's: BullMQ runs lower numbers first and jobs without a priority
 * before every prioritized one, so every job gets one, 1 (priority 100) to 201 (priority -100).
 */
export function bullmqPriority(priority: number): number {
  return 101 - priority;
}

/**
 * One BullMQ queue per resource class (RESOURCE_CLASSES) of one deployment, on one connection.
 * A run's job id is its id in whichever queue holds it, so lookups try each class.
 */
export class TrainingQueues {
  private readonly queues: ReadonlyMap<ResourceClass, TrainingQueue>;

  constructor(
    private readonly connection: Redis,
    /** The deployment's queue name (QUEUE_NAME): the `any` class's queue, and the prefix of the others. */
    readonly name: string = TRAINING_QUEUE,
  ) {
    this.queues = new Map(RESOURCE_CLASSES.map((c) => [c, createTrainingQueue(connection, queueNameFor(name, c))]));
  }

  of(resourceClass: ResourceClass): TrainingQueue {
    return this.queues.get(resourceClass)!;
  }

  /** Every class with its queue, in RESOURCE_CLASSES order. */
  entries(): [ResourceClass, TrainingQueue][] {
    return [...this.queues.entries()];
  }

  /** The run's job in whichever class's queue holds it. */
  async getJob(runId: string): Promise<Job<TrainingJobData> | undefined> {
    for (const queue of this.queues.values()) {
      const job = await queue.getJob(runId);
      if (job) return job;
    }
    return undefined;
  }

  /**
   * Where a run's job stands in its class's queue: BullMQ's state of it, and for a job in line the
   * jobs BullMQ will hand out before it (0: it is next). Jobs without a priority go before every
   * prioritized one, the prioritized ones by priority; a delayed job (given back, retrying) is not
   * in line yet, and a run with no job (ended, held by its pipeline, or lost with Redis) has none.
   * A delayed job recorded for its project (`park`) is `parked`.
   */
  async positionOf(run: { id: string; spec: Placement; project: string }): Promise<QueuePosition> {
    const queue = this.of(resourceClassOf(run.spec));
    const state = await queue.getJobState(run.id);
    const position: QueuePosition = {
      queue: queue.name,
      jobState: state === 'unknown' ? null : state,
      ahead: null,
      parked: false,
    };
    if (state === 'delayed')
      return { ...position, parked: (await this.connection.zscore(this.parkedKey(run.project), run.id)) !== null };
    if (state !== 'waiting' && state !== 'prioritized') return position;
    const client = this.connection;
    const waiting = await client.llen(queue.keys['wait']!);
    if (state === 'prioritized') {
      const rank = await client.zrank(queue.keys['prioritized']!, run.id);
      return { ...position, ahead: rank === null ? null : waiting + rank };
    }
    // Jobs are pushed on the left of the wait list and taken from its right.
    const index = await client.lpos(queue.keys['wait']!, run.id);
    return { ...position, ahead: index === null ? null : waiting - 1 - index };
  }

  /**
   * Records that the run's job waits, delayed, for a place under its project's limit (its own, else
   * PROJECT_MAX_RUNNING; the worker that found the project at its limit moves it to BullMQ's
   * delayed set): a sorted set per project, BullMQ's priority first (lower first), then the time the
   * job was submitted (BullMQ's `timestamp`), so a job parked again after losing a race for a place
   * keeps its turn ahead of the project's later jobs.
   */
  async park(runId: string, project: string, bullmqJobPriority: number, submittedAt: number): Promise<void> {
    // BullMQ priorities here are 1–201 (bullmqPriority): times 2^44, plus milliseconds since 1970
    // (below 2^42 until the year 2109), exact in a double.
    const score = bullmqJobPriority * 2 ** 44 + submittedAt;
    const key = this.parkedKey(project);
    await this.connection.multi().zadd(key, score, runId).pexpire(key, PARKED_RECORD_TTL_MS).exec();
  }

  /**
   * Moves up to `count` of the project's parked jobs, first by priority then by age, from the
   * delayed set back in line, and returns their run ids. Each goes back where it stood when a worker
   * took it: at the front of its priority in its class's queue (BullMQ's promote, then
   * `changePriority` with `lifo`), so the place its project's ended run left goes to it, not to a
   * later job of the project that was in line behind it. An entry whose job is no longer delayed
   * (its delay ran out and a worker took it, or it was cancelled) is dropped.
   */
  async releaseParked(project: string, count: number): Promise<string[]> {
    const released: string[] = [];
    while (released.length < count) {
      const [runId] = await this.connection.zpopmin(this.parkedKey(project), 1);
      if (runId === undefined) break;
      const job = await this.getJob(runId);
      if (job && (await job.isDelayed())) {
        // Promoting a job that left the delayed set meanwhile fails: it is in line or taken already.
        const promoted = await job.promote().then(
          () => true,
          () => false,
        );
        if (!promoted) continue;
        // Taken meanwhile: BullMQ then only rewrites the priority it has. Failing here leaves the
        // job in line behind its priority's others, as a promote alone would.
        await job.changePriority({ priority: job.priority, lifo: true }).catch(() => undefined);
        released.push(runId);
      }
    }
    return released;
  }

  /** Whether any job of the project is recorded as parked (some may have left the delayed set since). */
  async hasParked(project: string): Promise<boolean> {
    return (await this.connection.zcard(this.parkedKey(project))) > 0;
  }

  private parkedKey(project: string): string {
    return `trainyard:${this.name}:parked:${project}`;
  }

  /** Removes the run's job from every class's queue (a locked, active job is left: BullMQ refuses). */
  async remove(runId: string): Promise<void> {
    // All at once: while Redis stalls, a cancel waits one command timeout, not one per class.
    await Promise.all([...this.queues.values()].map((queue) => queue.remove(runId)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}

/** A run's job in its class's queue (TrainingQueues.positionOf). */
export interface QueuePosition {
  queue: string;
  /** BullMQ's state of the job (waiting, prioritized, delayed, active, completed, failed…); null when there is no job. */
  jobState: string | null;
  /** Jobs BullMQ hands out before it, when it is in line (waiting or prioritized); null otherwise. */
  ahead: number | null;
  /** Delayed and recorded for its project: it waits for a place under its project's limit. */
  parked: boolean;
}

/** A run as enqueueing needs it: its kind, and the spec's resources and priority. */
export interface EnqueuedRun {
  id: string;
  kind: RunKind;
  spec: Placement;
}

/**
 * Jobs per `addBulk` call: one Redis pipeline of this many scripts, so no call grows without bound.
 * A sweep (MAX_SWEEP_RUNS) fits in one chunk per class.
 */
export const ENQUEUE_CHUNK_SIZE = 1000;

/**
 * A run's job as BullMQ takes it, in its class's queue: the job id is the run id, so enqueueing
 * the same run twice is a no-op in BullMQ, and the payload is only the id: a worker reads
 * everything else from PostgreSQL. `enqueueRun` and `enqueueRuns` both build their jobs here.
 */
function trainingJob(run: EnqueuedRun, attempts: number) {
  return {
    name: JOB_NAMES[specKindOf(run.kind)],
    data: { runId: run.id },
    opts: { ...DEFAULT_JOB_OPTIONS, jobId: run.id, attempts, priority: bullmqPriority(priorityOf(run.spec)) },
  };
}

/** Enqueues a run in its class's queue with its priority (see `trainingJob`). */
export async function enqueueRun(queues: TrainingQueues, run: EnqueuedRun, attempts: number): Promise<void> {
  const { name, data, opts } = trainingJob(run, attempts);
  await queues.of(resourceClassOf(run.spec)).add(name, data, opts);
}

/**
 * Enqueues many runs as `enqueueRun` does each, in a few round trips: one `addBulk` per class's
 * queue and ENQUEUE_CHUNK_SIZE jobs. A bulk add is a pipeline, not a transaction: when it
 * rejects, some jobs may have landed (a worker skips a run that is already terminal), and adding
 * them again is a no-op.
 */
export async function enqueueRuns(
  queues: TrainingQueues,
  runs: readonly EnqueuedRun[],
  attempts: number,
): Promise<void> {
  const byClass = new Map<ResourceClass, EnqueuedRun[]>();
  for (const run of runs) {
    const resourceClass = resourceClassOf(run.spec);
    let group = byClass.get(resourceClass);
    if (!group) byClass.set(resourceClass, (group = []));
    group.push(run);
  }
  for (const [resourceClass, group] of byClass) {
    for (let start = 0; start < group.length; start += ENQUEUE_CHUNK_SIZE) {
      const chunk = group.slice(start, start + ENQUEUE_CHUNK_SIZE);
      await queues.of(resourceClass).addBulk(chunk.map((run) => trainingJob(run, attempts)));
    }
  }
}
