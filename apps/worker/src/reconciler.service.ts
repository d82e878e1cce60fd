import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type { TrainyardConfig } from '@trainyard/config';
import { PipelinesRepository, ReconciliationRepository, type UnfinishedRun } from '@trainyard/db';
import { enqueueRun, type TrainingQueues } from '@trainyard/queue';
import { ORPHAN_CHECKPOINT_GRACE_MS, OrphanCheckpointSweeper } from './orphan-checkpoints.sweeper';
import { PipelineAdvancer } from './pipeline.advancer';
import { WORKER_OPTIONS, type WorkerOptions } from './worker.tokens';
import { CONFIG, REDIS, TRAINING_QUEUES } from '@trainyard/infrastructure';

/** Job states in which BullMQ will still hand the job to a worker (or one holds it). */
const LIVE_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children', 'active']);

// Deletes the lock only if this worker still holds it (it may have expired and been taken).
const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface ReconcileReport {
  ran: boolean;
  requeued: string[];
  failed: string[];
}

/**
 * Makes PostgreSQL (the truth) and the queue agree, at start and every
 * WORKER_RECONCILE_INTERVAL_MS, one worker at a time under a Redis lock: a QUEUED, RUNNING or
 * PREEMPTED run whose job is missing (a Redis restarted without persistence, a lost enqueue),
 * failed or completed is enqueued again, or FAILED with the reason once its attempts are spent.
 * Nothing stays RUNNING forever.
 */
@Injectable()
export class Reconciler {
  private readonly logger = new Logger(Reconciler.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<ReconcileReport>;

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(TRAINING_QUEUES) private readonly queues: TrainingQueues,
    private readonly reconciliation: ReconciliationRepository,
    private readonly pipelines: PipelinesRepository,
    private readonly advancer: PipelineAdvancer,
    private readonly orphans: OrphanCheckpointSweeper,
  ) {}

  start(): void {
    const tick = () => {
      this.running ??= this.reconcileOnce()
        .catch((error: Error) => {
          this.logger.warn(`reconciliation failed, will try again: ${error.message}`);
          return { ran: false, requeued: [], failed: [] };
        })
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.config.worker.reconcileIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async reconcileOnce(): Promise<ReconcileReport> {
    const report: ReconcileReport = { ran: false, requeued: [], failed: [] };
    const interval = this.config.worker.reconcileIntervalMs;
    const lockKey = `trainyard:reconciler:${this.options.queueName}`;
    const acquired = await this.redis.set(lockKey, this.options.workerId, 'PX', Math.max(30_000, 2 * interval), 'NX');
    if (acquired !== 'OK') return report;
    report.ran = true;
    try {
      const now = Date.now();
      // A run submitted or touched a moment ago may not be enqueued yet: give it one interval.
      const runs = await this.reconciliation.listUnfinished(
        new Date(now - Math.min(10_000, interval)),
        new Date(now - this.config.worker.lostAfterMs),
      );
      for (const run of runs) await this.reconcileRun(run, report);
      // A step that ended while its worker died (or a step cancelled through the API) moves its pipeline on here.
      for (const pipelineId of await this.pipelines.listRunning()) await this.advancer.advanceQuietly(pipelineId);
      // A run's last orphan-checkpoint sweep, once uploads still running when it ended have
      // settled; the window spans two passes so one missed pass loses nothing.
      const settled = now - ORPHAN_CHECKPOINT_GRACE_MS;
      await this.orphans
        .sweepEnded(new Date(settled - 2 * interval), new Date(settled))
        .catch((error: Error) => this.logger.warn(`orphan checkpoint sweep failed, will try again: ${error.message}`));
    } finally {
      await this.redis.eval(RELEASE_LOCK, 1, lockKey, this.options.workerId).catch(() => undefined);
    }
    if (report.requeued.length || report.failed.length) {
      this.logger.log(`reconciled: ${report.requeued.length} runs enqueued again, ${report.failed.length} failed`);
    }
    return report;
  }

  private async reconcileRun(run: UnfinishedRun, report: ReconcileReport): Promise<void> {
    const job = await this.queues.getJob(run.id);
    const state = job ? await job.getState() : 'missing';
    if (LIVE_STATES.has(state)) return;
    // Redis lost the job (restarted without persistence) but its worker is alive and training:
    // it will finish the run in PostgreSQL; a second job would only fence it off and redo work.
    if (state !== 'failed' && run.status === 'RUNNING' && run.ownerAlive) return;

    const why =
      state === 'failed'
        ? `its job failed in the queue (${job?.failedReason ?? 'no reason'})`
        : `its job is ${state} in the queue`;
    // A RUNNING attempt whose worker is gone is a crash not yet counted.
    const failures = run.failures + (run.status === 'RUNNING' && !run.ownerAlive ? 1 : 0);
    const maxAttempts = this.config.worker.maxAttempts;
    if (failures >= maxAttempts) {
      const reason = `${run.status} run ${run.id}: ${why}, and ${failures} of ${maxAttempts} attempts failed (WORKER_MAX_ATTEMPTS)`;
      if (await this.reconciliation.fail(run.id, reason)) {
        this.logger.warn(`FAILED ${reason}`);
        report.failed.push(run.id);
      }
      return;
    }
    // The job id is the run id: a failed or completed job has to go before a new one can be added.
    if (job)
      await job
        .remove()
        .catch((error: Error) =>
          this.logger.warn(`run ${run.id}: could not remove its ${state} job: ${error.message}`),
        );
    await enqueueRun(this.queues, run, maxAttempts);
    await this.reconciliation.touch(run.id);
    this.logger.warn(`${run.status} run ${run.id}: ${why}; enqueued again`);
    report.requeued.push(run.id);
  }
}
