import { Logger } from '@nestjs/common';
import { DelayedError, WaitingError, Worker, type Job } from 'bullmq';
import type Redis from 'ioredis';
import type { ResourceClass, TrainingJobData } from '@trainyard/contracts';
import { logQueueErrors } from '@trainyard/infrastructure';
import { isRedisFull, queueNameFor, REDIS_FULL_MEANING } from '@trainyard/queue';

/** BullMQ's messages for a job whose lock or key Redis lost (lock-manager.js, finished-errors.js): the job id. */
const JOB_GONE_FROM_REDIS = /^(?:could not renew lock for job (\S+)|Missing (?:key|lock) for job (\S+)\. \w+)$/;

/** How often a worker that found Redis full tries a write again (one small key, expiring by itself). */
export const REDIS_FULL_PROBE_MS = 2000;

/** How long a job given back waits before a worker may take it again. */
export const GIVE_BACK_DELAY_MS = 2000;

/**
 * Puts a job this worker took but cannot train back in its queue, delayed by `delayMs`, for any
 * worker to take: the attempt count is untouched and the run stays QUEUED. BullMQ puts it back
 * among the jobs of its priority, behind those already there.
 */
export async function giveBack(job: Job<TrainingJobData>, token: string | undefined, delayMs: number): Promise<never> {
  await job.moveToDelayed(Date.now() + delayMs, token);
  throw new DelayedError();
}

/**
 * Puts a job back in its queue at once, ahead of the jobs of its priority (BullMQ's moveToWait),
 * for any worker to take: for a consumer that is paused, and so will not take it again. (A paused
 * BullMQ worker blocked waiting for a job still takes the next one that arrives.)
 */
async function backInLine(job: Job<TrainingJobData>, token: string | undefined): Promise<never> {
  await job.moveToWait(token);
  throw new WaitingError();
}

export interface ClassConsumersOptions {
  /** The deployment's queue name (each class's queue is named from it, queueNameFor). */
  queueName: string;
  classes: ResourceClass[];
  /** Jobs this worker trains at once, whatever their classes. */
  concurrency: number;
  connection: Redis;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  process: (job: Job<TrainingJobData>, token?: string) => Promise<unknown>;
}

/**
 * One BullMQ worker per resource class this worker serves, sharing one budget of `concurrency`
 * trainings: once it is spent, every consumer pauses (the held jobs go on) and they resume when a
 * training ends. A job fetched in the moment before the pause, or by a paused consumer that was
 * already waiting for one, is given back, not trained.
 */
export class ClassConsumers {
  private readonly logger = new Logger(ClassConsumers.name);
  private readonly consumers: Worker<TrainingJobData>[] = [];
  /** The ids of the jobs taken and not yet handed back to BullMQ, one entry per take. */
  private readonly held: string[] = [];
  private idleWaiters: (() => void)[] = [];
  /** Jobs already reported gone from Redis (jobGoneFromRedis), oldest first; a take forgets its job's. */
  private readonly reportedGone = new Set<string>();
  /** Paused from outside (a drain, a shutdown): stays paused whatever the budget. */
  private stopped = false;
  /** Since when Redis refuses writes (full), with the errors not logged meanwhile; undefined while it takes them. */
  private full?: { since: number; unlogged: number; probe: NodeJS.Timeout; probing: boolean };
  private gating = Promise.resolve();

  constructor(private readonly options: ClassConsumersOptions) {}

  get classes(): ResourceClass[] {
    return this.options.classes;
  }

  start(): void {
    const o = this.options;
    for (const resourceClass of o.classes) {
      const consumer = new Worker<TrainingJobData>(
        queueNameFor(o.queueName, resourceClass),
        (job, token) => this.take(job, token),
        {
          connection: o.connection,
          concurrency: o.concurrency,
          lockDuration: o.lockDurationMs,
          stalledInterval: o.stalledIntervalMs,
          maxStalledCount: o.maxStalledCount,
        },
      );
      // Redis failures are logged once per outage by the connection (libs/infrastructure), not per
      // retry here; a job Redis no longer has for this worker, once per job (jobGoneFromRedis).
      logQueueErrors(
        {
          on: (event, listener) =>
            consumer.on(event, (error) => this.refusedAsFull(error) || this.jobGoneFromRedis(error) || listener(error)),
        },
        this.logger,
        `queue ${consumer.name}`,
      );
      consumer.on('stalled', (jobId) => this.logger.warn(`job ${jobId} stalled and goes back to the queue`));
      consumer.on('failed', (job, err) => this.logger.warn(`job ${job?.id} failed: ${err.message}`));
      this.consumers.push(consumer);
    }
  }

  /** Whether Redis refused a write as full and has taken none since: no job is taken meanwhile. */
  get redisFull(): boolean {
    return this.full !== undefined;
  }

  /** Jobs taken and not yet handed back to BullMQ (a training, or one still opening its attempt). */
  get heldJobs(): number {
    return this.held.length;
  }

  /** The ids of those jobs (a run's job id is its run id). */
  get heldJobIds(): readonly string[] {
    return [...this.held];
  }

  /** Resolves once this worker holds no job: none training, none between its take and its attempt. */
  whenIdle(): Promise<void> {
    if (this.held.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Takes no new job (held ones go on) until `resume`. */
  async pause(): Promise<void> {
    this.stopped = true;
    await this.gate();
  }

  async resume(): Promise<void> {
    this.stopped = false;
    await this.gate();
  }

  /**
   * Stops taking jobs and waits for the held ones to end, up to `withinMs` when given; true once
   * they have, false at the deadline with some still held. Past it nothing more can be done from
   * here: BullMQ's `close(true)` after a `close()` only returns the first call's wait, and the held
   * jobs' locks are renewed while this process lives. The caller exits; the locks then expire and
   * another worker takes the jobs over as stalled.
   */
  async close(withinMs?: number): Promise<boolean> {
    clearInterval(this.full?.probe);
    const closed = Promise.all(this.consumers.map((c) => c.close())).then(() => true);
    if (withinMs === undefined) return closed;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), withinMs)));
    try {
      return await Promise.race([closed, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async take(job: Job<TrainingJobData>, token?: string): Promise<unknown> {
    if (this.stopped || this.held.length >= this.options.concurrency) {
      this.logger.debug(`job ${job.id}: taken at capacity or while paused; given back`);
      // Paused already, its consumer will not fetch it again: it keeps its place in line. Not yet
      // (the pause is on its way), a delay keeps it from going back and forth between us and Redis.
      const consumer = this.consumers.find((c) => c.name === job.queueName);
      if (consumer?.isPaused()) return backInLine(job, token);
      return giveBack(job, token, GIVE_BACK_DELAY_MS);
    }
    const id = String(job.id);
    this.reportedGone.delete(id);
    this.held.push(id);
    void this.gate();
    try {
      return await this.options.process(job, token);
    } finally {
      this.held.splice(this.held.indexOf(id), 1);
      if (this.held.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      void this.gate();
    }
  }

  /**
   * A full Redis refuses BullMQ's every write at once, and BullMQ's fetch loop tries again at once
   * for errors other than a lost connection: a consumer spun, logging thousands of lines a second
   * (55,000 in 20 s on this project's machine). Once Redis says it is full, every consumer pauses
   * (the held trainings go on: they end in PostgreSQL, and their jobs' moves wait for Redis), the
   * worker says so once, and a small write is tried every REDIS_FULL_PROBE_MS; once one is taken the
   * consumers resume and the worker says after how long. Returns whether `error` was Redis full.
   */
  private refusedAsFull(error: Error): boolean {
    if (!isRedisFull(error)) return false;
    if (this.full) {
      this.full.unlogged++;
      return true;
    }
    const probeKey = `trainyard:${this.options.queueName}:redis-full-probe`;
    // One probe at a time: with Redis gone meanwhile, they would pile up in the client's queue.
    const probe = setInterval(() => {
      const full = this.full;
      if (!full || full.probing) return;
      full.probing = true;
      this.options.connection
        .set(probeKey, '1', 'PX', REDIS_FULL_PROBE_MS)
        .then(() => this.redisTakesWrites())
        .catch(() => undefined)
        .finally(() => (full.probing = false));
    }, REDIS_FULL_PROBE_MS);
    probe.unref();
    this.full = { since: Date.now(), unlogged: 0, probe, probing: false };
    this.logger.error(
      `${REDIS_FULL_MEANING}: ${error.message} This worker takes no job until Redis takes writes again (tried every ${REDIS_FULL_PROBE_MS} ms); ` +
        'the trainings it holds go on and end in PostgreSQL, their jobs finishing in Redis once it has room',
    );
    void this.gate();
    return true;
  }

  private redisTakesWrites(): void {
    const full = this.full;
    if (!full) return;
    clearInterval(full.probe);
    this.full = undefined;
    this.logger.log(
      `Redis takes writes again after ${Math.round((Date.now() - full.since) / 1000)} s full (${full.unlogged} more of its refusals not logged); taking jobs again`,
    );
    void this.gate();
  }

  /**
   * BullMQ's errors for a job whose key or lock Redis no longer has (a Redis restarted without its
   * data; a lock that expired before it was renewed, the job perhaps taken over since): one each time
   * it fails to renew the lock (every half lock duration) and one for each move at the job's end.
   * The first is said once, as a warning that says what happened; the rest are not logged. Returns
   * whether `error` was one of them.
   */
  private jobGoneFromRedis(error: Error): boolean {
    const gone = JOB_GONE_FROM_REDIS.exec(error.message);
    if (!gone) return false;
    const id = gone[1] ?? gone[2]!;
    if (this.reportedGone.has(id)) return true;
    this.reportedGone.add(id);
    // Bounded: a long-lived worker forgets the oldest.
    if (this.reportedGone.size > 1000) this.reportedGone.delete(this.reportedGone.values().next().value!);
    const why = this.full
      ? 'Redis is full and refuses to renew its lock: once it has room, the job goes back to the queue as stalled if its lock expired meanwhile (another worker may then take over a run still training here, resuming from its last checkpoint)'
      : 'Redis lost it (restarted without its data), or its lock expired before it could be renewed (Redis unreachable, or this process stalled)';
    this.logger.warn(
      `job ${id} is no longer this worker's in Redis (${error.message}): ${why}. ` +
        "Its run goes on here and ends in PostgreSQL, unless another worker took it over (which fences this attempt); BullMQ's further errors about this job are not logged",
    );
    return true;
  }

  /** Pauses every consumer while the budget is spent or a pause stands, resumes them otherwise; one change at a time. */
  private gate(): Promise<void> {
    // With one class the consumer's own concurrency is the budget: nothing to gate, unless paused.
    this.gating = this.gating
      .then(async () => {
        const open =
          !this.stopped && !this.full && (this.consumers.length === 1 || this.held.length < this.options.concurrency);
        for (const consumer of this.consumers) {
          if (open && consumer.isPaused()) await consumer.resume();
          else if (!open && !consumer.isPaused()) await consumer.pause(true);
        }
      })
      .catch((err: Error) => this.logger.warn(`could not pause or resume a queue consumer: ${err.message}`));
    return this.gating;
  }
}
