import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type Redis from 'ioredis';
import type { TrainyardConfig } from '@trainyard/config';
import {
  AttemptsRepository,
  WorkerNotFoundError,
  WorkersRepository,
  type DrainOrder,
  type WorkerRegistration,
} from '@trainyard/db';
import { assertNoEviction } from '@trainyard/queue';
import { ActiveTrainings } from './active-trainings';
import { ClassConsumers } from './class-consumers';
import { CheckpointRetention } from './checkpoint-retention.service';
import { DatabasePatience } from './database-patience';
import { PrestartedProcesses } from './devices/prestarted-processes';
import { WorkerDevices } from './devices/worker-devices';
import { Reconciler } from './reconciler.service';
import { redisProblem } from './redis-problem';
import { CLOSING_CONNECTIONS_MS, SHUTDOWN_MARGIN_MS, shutdownDeadlineMessage } from './shutdown-deadline';
import { RunLogs } from './run-logs/run-logs';
import { TrainingProcessor } from './training.processor';
import { waitAtMost } from './wait-at-most';
import { WORKER_OPTIONS, type WorkerOptions } from './worker.tokens';
import { CONFIG, REDIS, redisEndpoint } from '@trainyard/infrastructure';

/** Where a worker is in its life (GET /readyz of its metrics port): it takes jobs only while `consuming`. */
export type WorkerReadinessState = 'starting' | 'consuming' | 'draining' | 'stopping';

/**
 * Owns the BullMQ worker: refuses an evicting Redis, starts consuming and reconciling at
 * bootstrap; at shutdown (SIGTERM) stops taking jobs, preempts running trainings (checkpoint,
 * back to the queue) and exits within WORKER_SHUTDOWN_TIMEOUT_MS.
 *
 * Drain (POST /v1/workers/:id/drain) reaches the worker as the answer to its heartbeat: it stops
 * taking jobs, preempts the held ones (or lets them finish, mode 'finish'), reports itself
 * drained once it holds none, and stays up, idle, until stopped or until the drain is taken back.
 */
@Injectable()
export class WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerHost.name);
  private consumers?: ClassConsumers;
  private heartbeat?: NodeJS.Timeout;
  /** The drain this worker is carrying out, if any. */
  private drain?: DrainOrder;
  /** What this worker registered as, kept to register again (see beat). */
  private registration?: WorkerRegistration;
  private shuttingDown = false;
  /** When closeUnheldAttempts last looked (0: not yet). */
  private unheldLookedForAt = 0;
  /** See exitOnceJobsBackIfDatabaseSilent. */
  private exitEarly?: (message: string) => void;

  /**
   * Where this worker is in its life, answered at GET /readyz on its metrics port: it takes jobs
   * only while `consuming`, so a Kubernetes rollout counts a new worker pod available only once it
   * consumes, and a drained or stopping one shows as not ready. Liveness (/healthz) does not
   * depend on it.
   */
  get readiness(): WorkerReadinessState {
    if (this.shuttingDown) return 'stopping';
    if (this.drain) return 'draining';
    return this.consumers ? 'consuming' : 'starting';
  }

  /** Redis refused this worker's writes as full (ClassConsumers): it takes no job until one is taken. */
  get redisFull(): boolean {
    return this.consumers?.redisFull ?? false;
  }

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly workers: WorkersRepository,
    private readonly attempts: AttemptsRepository,
    private readonly processor: TrainingProcessor,
    private readonly active: ActiveTrainings,
    private readonly reconciler: Reconciler,
    private readonly devices: WorkerDevices,
    private readonly prestarted: PrestartedProcesses,
    private readonly runLogs: RunLogs,
    private readonly patience: DatabasePatience,
    private readonly retention: CheckpointRetention,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { worker: settings } = this.config;
    // An evicting Redis silently drops queued jobs and locks: refuse it before taking any work.
    await assertNoEviction(this.redis, (message) => this.logger.warn(message));
    // Before registering and consuming: the devices decide the default concurrency.
    await this.devices.detect();
    const concurrency = this.devices.concurrency;
    const classes = this.devices.resourceClasses;
    this.registration = {
      id: this.options.workerId,
      hostname: hostname(),
      pid: process.pid,
      ...this.devices.registration(),
      resourceClasses: classes,
      concurrency,
      projectMaxRunning: this.config.limits.runningRunsPerProject ?? null,
    };
    await this.workers.register(this.registration);
    // Starts are what add worker rows: each one forgets the fleet's long-stopped ones, so the table
    // holds WORKER_STOPPED_RETENTION_MS of history. Not worth failing a start for.
    await this.workers
      .forgetStopped(new Date(Date.now() - settings.stoppedRetentionMs))
      .catch((err) => this.logger.warn(`forgetting workers stopped long ago failed: ${err}`));
    let beating = false;
    this.heartbeat = setInterval(() => {
      if (beating) return; // a slow database: never pile heartbeats up
      beating = true;
      this.beat()
        .catch((err) => this.logger.warn(`heartbeat failed: ${err}`))
        .finally(() => (beating = false));
    }, settings.heartbeatIntervalMs);
    this.heartbeat.unref();

    this.consumers = new ClassConsumers({
      queueName: this.options.queueName,
      classes,
      concurrency,
      connection: this.redis,
      lockDurationMs: settings.lockDurationMs,
      stalledIntervalMs: settings.stalledIntervalMs,
      // Stalls count as attempts too: the processor fails a run after WORKER_MAX_ATTEMPTS crashes
      // (counted in PostgreSQL); BullMQ's own limit is the backstop the reconciler then settles.
      maxStalledCount: settings.maxAttempts,
      process: (job, token) => this.processor.process(job, token),
    });
    this.consumers.start();
    this.prestarted.resume();
    this.reconciler.start();
    this.logger.log(
      `worker ${this.options.workerId} consuming "${this.options.queueName}" for resource classes ${classes.join(', ')} (concurrency ${concurrency})`,
    );
  }

  /** Records that this worker lives; starts, upgrades or ends a drain as the answer says. */
  private async beat(): Promise<void> {
    const order = await this.workers.heartbeat(this.options.workerId).catch(async (error: unknown) => {
      if (!(error instanceof WorkerNotFoundError) || !this.registration) throw error;
      // PostgreSQL restored from a backup taken before this worker registered: until it registers
      // again every attempt it opens breaks the attempts' foreign key, and the fleet cannot see it.
      await this.workers.register(this.registration);
      this.logger.warn(`${error.message}; registered again`);
      return null;
    });
    if (this.shuttingDown || !this.consumers) return;
    if (order && (!this.drain || (this.drain.mode === 'finish' && order.mode === 'preempt')))
      await this.startDrain(order);
    else if (!order && this.drain) await this.endDrain();
    await this.closeUnheldAttempts().catch((err) =>
      this.logger.warn(`looking for attempts it does not hold failed: ${err}`),
    );
  }

  /**
   * Attempts PostgreSQL says this worker trains and it does not (restored from a backup taken while
   * they ran): closed as CRASHED, so the reconciler takes their runs over and they resume from their
   * newest checkpoint. Only those opened longer ago than a silent worker takes to count as lost
   * (three heartbeat intervals): one opened a moment ago may not be among the held ones yet. Looked
   * for once in that time too, not at every heartbeat: nothing but a restore leaves them.
   */
  private async closeUnheldAttempts(): Promise<void> {
    const { lostAfterMs } = this.config.worker;
    if (Date.now() - this.unheldLookedForAt < lostAfterMs) return;
    this.unheldLookedForAt = Date.now();
    const closed = await this.attempts.closeUnheld(this.options.workerId, this.active.attemptIds, lostAfterMs);
    for (const attempt of closed)
      this.logger.warn(
        `run ${attempt.runId}: attempt ${attempt.number} is RUNNING on this worker in PostgreSQL, and this worker is not training it (a database restored from a backup?); closed as CRASHED, the reconciler enqueues the run again`,
      );
  }

  private async startDrain(order: DrainOrder): Promise<void> {
    const first = !this.drain;
    this.drain = order;
    await this.consumers!.pause(); // takes no new job; the held ones go on
    this.prestarted.pause();
    const held =
      order.mode === 'preempt'
        ? this.active.preemptAll('the worker was drained (POST /v1/workers/:id/drain)')
        : this.active.size;
    this.logger.log(
      `draining (${order.mode}): taking no new jobs; ${held} held training(s) ${order.mode === 'preempt' ? 'preempted' : 'finishing'}`,
    );
    // The first drain's idle wait reports it. Not awaited: the heartbeat that brought the order
    // must go on beating while held runs finish, or the fleet would see this worker lost.
    if (first) void this.reportDrainedWhenIdle();
  }

  private async reportDrainedWhenIdle(): Promise<void> {
    // Every job held, not only those training: one still opening its attempt would train next.
    await this.consumers!.whenIdle();
    if (!this.drain || this.consumers!.heldJobs > 0) return; // taken back meanwhile (a new drain waits on its own)
    try {
      await this.workers.markDrained(this.options.workerId);
      this.logger.log('drained: this worker holds no job and takes none until the drain is taken back or it stops');
    } catch (err) {
      this.logger.warn(`could not record the drain as done: ${err}`);
    }
  }

  private async endDrain(): Promise<void> {
    this.drain = undefined;
    this.active.allowTraining();
    this.prestarted.resume();
    await this.consumers!.resume();
    this.logger.log('drain taken back: consuming again');
  }

  /**
   * What ends the process early (main.ts: exit 1, as the shutdown backstop does) once every job is
   * back in the queue but PostgreSQL is silent (DatabasePatience.unansweredTries): what is left of
   * the shutdown (marking the worker stopped, closing pg's pool) would only wait for the backstop.
   * Not given (the demo's in-process worker, tests), the shutdown goes on as without it.
   */
  exitOnceJobsBackIfDatabaseSilent(exit: (message: string) => void): void {
    this.exitEarly = exit;
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.shuttingDown = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.prestarted.pause();
    const timeoutMs = this.config.worker.shutdownTimeoutMs;
    const stoppedAt = Date.now();
    const heldAtStop = this.consumers?.heldJobs ?? 0;
    // Every step ends by the deadline, or within SHUTDOWN_MARGIN_MS past it for the last ones:
    // a database or a Redis that does not answer holds none of them longer.
    const closeBy = stoppedAt + timeoutMs + SHUTDOWN_MARGIN_MS - CLOSING_CONNECTIONS_MS;
    // Calls waiting out a PostgreSQL outage must not hold the worker past its deadline.
    this.patience.stopWaiting(timeoutMs);
    // So are retention's object-store calls, which the attempts' ends wait for.
    this.retention.stopWaiting(timeoutMs);
    // First what frees the held runs, so their checkpoints start at once: preempt them, and take
    // no new job; then wait for them up to the deadline, beside the rest of the shutdown.
    const allBack = this.consumers
      ? this.stopTraining(signal ?? 'shutdown', this.consumers, timeoutMs)
      : Promise.resolve(true);
    // The fleet page shows this worker draining until it has stopped. Given up as the trainings'
    // tries are: a worker holding no job has no other call to tell a silent PostgreSQL by.
    const drainRequested = this.workers.requestDrain(this.options.workerId, 'preempt');
    this.patience.watchShutdownCall(drainRequested);
    const others = Promise.all([
      waitAtMost(drainRequested, timeoutMs),
      // A reconciler pass in flight ends, within the same deadline.
      waitAtMost(this.reconciler.stop(), timeoutMs),
    ]);
    // Every job back, what is left waits on PostgreSQL: once a try of it is given up unanswered
    // (at once if one already was), nothing is left to wait for but the backstop.
    const silent =
      (await allBack) &&
      this.exitEarly !== undefined &&
      (await Promise.race([this.patience.whenTryUnanswered().then(() => true), others.then(() => false)]));
    if (silent && this.exitEarly && this.patience.unansweredTries > 0) {
      // Only the database's calls are left, and it is silent: the run logs' last lines go to the
      // store (which may answer), then the process exits rather than wait for the backstop.
      await this.runLogs.stop(Math.max(0, closeBy - Date.now()));
      const tries = this.patience.unansweredTries;
      const jobs =
        heldAtStop > 0
          ? `every job is back in the queue after ${Date.now() - stoppedAt} ms, but`
          : `no job held, and after ${Date.now() - stoppedAt} ms`;
      this.exitEarly(
        `shutdown: ${jobs} PostgreSQL does not answer ` +
          `(${tries} ${tries === 1 ? 'try' : 'tries'} given up unanswered): exiting without marking this worker stopped or closing its connections`,
      );
      return;
    }
    await others;
    const left = Math.max(0, closeBy - Date.now());
    await Promise.all([
      // Run logs whose lines the store lacks (it is down, say) are written now or lost, and said so.
      this.runLogs.stop(left),
      waitAtMost(this.workers.stop(this.options.workerId), left),
    ]);
    // The queue, Redis and the database are closed after this, by InfrastructureShutdown.
  }

  /** True once every job held is back in the queue; false past the deadline, saying what is left. */
  private async stopTraining(signal: string, consumers: ClassConsumers, timeoutMs: number): Promise<boolean> {
    const preempted = this.active.preemptAll(`the worker was asked to stop (${signal})`);
    this.logger.log(`${signal}: preempting ${preempted} running trainings, waiting up to ${timeoutMs} ms`);
    // Stops taking jobs at once, then waits for the held ones up to the deadline; past it the
    // worker exits anyway: their locks expire and another worker takes them over as stalled.
    if (await consumers.close(timeoutMs)) return true;
    // What is left, and what it waits for: a job whose training ended may still wait to be put
    // back in the queue, on a Redis that does not answer (commands wait for it to reconnect).
    this.logger.warn(
      shutdownDeadlineMessage({
        timeoutMs,
        training: this.active.runIds,
        finishing: this.active.finishingRunIds,
        held: consumers.heldJobIds,
        redis: { endpoint: redisEndpoint(this.redis), problem: await redisProblem(this.redis) },
      }),
    );
    return false;
  }
}
