import { Inject, Injectable, Logger } from '@nestjs/common';
import { DelayedError, UnrecoverableError, WaitingError } from 'bullmq';
import type { TrainyardConfig } from '@trainyard/config';
import {
  AttemptsRepository,
  AttemptWritesRepository,
  FencedError,
  STORE_OUTAGE_ERROR,
  storeWaitReason,
  type AttemptConclusion,
} from '@trainyard/db';
import type { TrainingOutcome } from '@trainyard/training/supervisor';
import { DatabasePatience, PatienceWindow } from './database-patience';
import { WorkerMetrics } from './metrics/worker-metrics';
import { JobHandBack } from './job-hand-back';
import { storeWait, type StoreWait } from './store-outage';
import type { TrainingContext } from './training-context';
import { CONFIG } from '@trainyard/infrastructure';

/**
 * Closes an attempt and moves its run on, from the training outcome: SUCCEEDED, CANCELLED,
 * PREEMPTED (the job goes back to the queue without using up a retry), retried, or FAILED.
 * A fenced attempt concludes nothing: another worker owns the run, and the job is left as is.
 */
@Injectable()
export class OutcomeConcluder {
  private readonly logger = new Logger(OutcomeConcluder.name);

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    private readonly attempts: AttemptsRepository,
    private readonly writes: AttemptWritesRepository,
    private readonly metrics: WorkerMetrics,
    private readonly patience: DatabasePatience,
  ) {}

  async conclude(context: TrainingContext, outcome: TrainingOutcome): Promise<{ status: string }> {
    const { runId } = context.fence;
    this.metrics.trainingEnded(runId, outcome, context.fenced);
    if (context.fenced) throw this.leaveJob(context);
    try {
      switch (outcome.status) {
        case 'succeeded':
          await this.announce(context, 'log', `run ${runId} SUCCEEDED`);
          await this.write(context, { attempt: 'SUCCEEDED', run: 'SUCCEEDED', result: context.result });
          return { status: 'SUCCEEDED' };
        case 'cancelled':
          await this.announce(context, 'log', `run ${runId} CANCELLED`);
          await this.write(context, { attempt: 'CANCELLED', run: 'CANCELLED' });
          return { status: 'CANCELLED' };
        case 'preempted':
          await this.write(context, {
            attempt: 'PREEMPTED',
            error: `preempted: ${context.preemptReason ?? 'the worker was asked to stop'}`,
            run: 'PREEMPTED',
          });
          context.log.log(
            this.logger,
            `run ${runId} PREEMPTED after a checkpoint; its job goes back to the queue, first of its priority`,
          );
          // Moved once the attempt has let everything go (JobHandBack); WaitingError then tells
          // BullMQ the job was moved already: no failure, no retry counted.
          throw new JobHandBack(async () => {
            await this.requeue(context);
            throw new WaitingError(`run ${runId} preempted`);
          }, 'preempted');
        case 'failed': {
          const wait = outcome.storeUnavailable && outcome.retryable ? await this.storeWait(context) : null;
          if (wait) return await this.waitForStore(context, outcome.reason, wait);
          return await this.failed(context, outcome.reason, outcome.retryable);
        }
      }
    } catch (error) {
      if (error instanceof FencedError) {
        context.fenced = true;
        context.log.warn(this.logger, `run ${runId}: ${error.message}`);
        throw this.leaveJob(context);
      }
      throw error;
    }
  }

  /** Fails the run for good: closes the attempt FAILED, the run FAILED with the reason, and tells BullMQ not to retry. */
  async fail(context: TrainingContext, reason: string): Promise<never> {
    await this.announce(context, 'error', `run ${context.fence.runId} FAILED: ${reason}`);
    await this.write(context, { attempt: 'FAILED', error: reason, run: 'FAILED', failureReason: reason });
    this.metrics.jobEnded('failed');
    throw new UnrecoverableError(reason);
  }

  /**
   * The outcome goes into the run's log, and the log to the store, before the run is recorded as
   * ended: a reader who sees the run ended then finds every line of it.
   */
  private async announce(context: TrainingContext, level: 'log' | 'error', message: string): Promise<void> {
    context.log[level](this.logger, message);
    await context.log.flush();
  }

  /**
   * WORKER_MAX_ATTEMPTS bounds CRASHED and FAILED attempts together, counted in PostgreSQL, so a
   * run that keeps killing its worker ends FAILED just like one that keeps throwing.
   */
  private async failed(context: TrainingContext, reason: string, retryable: boolean): Promise<never> {
    const failures =
      (await this.patient(context, 'counting its failed attempts', () =>
        this.attempts.countFailures(context.fence.runId),
      )) + 1;
    const maxAttempts = this.config.worker.maxAttempts;
    if (!retryable || failures >= maxAttempts) {
      return this.fail(context, retryable ? `${reason} (gave up after ${failures} failed attempts)` : reason);
    }
    await this.write(context, {
      attempt: 'FAILED',
      error: reason,
      run: 'PREEMPTED',
      failureReason: `retrying after: ${reason}`,
    });
    this.metrics.jobEnded('retried');
    context.log.warn(
      this.logger,
      `run ${context.fence.runId} attempt failed (${failures}/${maxAttempts}), will retry: ${reason}`,
    );
    throw new Error(reason);
  }

  private async storeWait(context: TrainingContext): Promise<StoreWait | null> {
    const { runId } = context.fence;
    const outage = await this.patient(context, 'reading its object store outage', () =>
      this.attempts.storeOutage(runId),
    );
    return storeWait(outage, Date.now(), this.config.worker.storeOutagePatienceMs, this.config.worker.storeWaitFirstMs);
  }

  /**
   * The object store could not be reached: an outage, not the run's fault. The attempt ends
   * PREEMPTED (not counted against WORKER_MAX_ATTEMPTS) with the reason, and its job waits in
   * BullMQ's delayed set (storeWait's growing delay) before a worker tries again, so a store down
   * for minutes delays runs rather than failing them; past WORKER_STORE_OUTAGE_PATIENCE_MS such
   * failures count as any other.
   */
  private async waitForStore(context: TrainingContext, reason: string, wait: StoreWait): Promise<never> {
    const { runId } = context.fence;
    const seconds = Math.round(wait.delayMs / 1000);
    await this.write(context, {
      attempt: 'PREEMPTED',
      error: `${STORE_OUTAGE_ERROR}${reason}`,
      run: 'PREEMPTED',
      failureReason: storeWaitReason(wait.tries, seconds, reason),
    });
    this.metrics.jobEnded('store-wait');
    context.log.warn(
      this.logger,
      `run ${runId}: the object store could not be reached or had no room; its job tries again in ${seconds} s (try ${wait.tries}, not counted as a failed attempt): ${reason}`,
    );
    throw new JobHandBack(async (held, token) => {
      await held.moveToDelayed(Date.now() + wait.delayMs, token);
      throw new DelayedError(`run ${runId} waits for the object store`);
    }, 'store-outage');
  }

  private write(context: TrainingContext, conclusion: AttemptConclusion): Promise<void> {
    return this.patient(context, `recording its attempt ${conclusion.attempt}`, () =>
      this.writes.conclude(context.fence, conclusion),
    );
  }

  /**
   * A read or a fenced write of the outcome, waiting for a PostgreSQL that cannot be reached
   * (DatabasePatience). An outcome's calls share one patience window (context.outcomeWindow): a
   * read, or the last checkpoint's retention, that waited most of it leaves the write only the
   * rest, so the outcome waits the patience once, not once a call.
   */
  private patient<T>(context: TrainingContext, what: string, fn: () => Promise<T>): Promise<T> {
    context.outcomeWindow ??= new PatienceWindow();
    return this.patience.forRun(context.fence.runId, context.log.from(this.logger), context.outcomeWindow)(what, fn);
  }

  /**
   * Back to the queue at once, with the lock token, ahead of the jobs of its priority (BullMQ's
   * moveToWait): a preempted run already waited its turn, and runs submitted while it trained do
   * not overtake it. If Redis is unreachable the job stays active, stalls, and is taken again
   * anyway (the run is PREEMPTED in PostgreSQL either way).
   */
  private async requeue(context: TrainingContext): Promise<void> {
    try {
      await context.job.moveToWait(context.token);
    } catch (error) {
      // The attempt's log is closed by now: this goes to the worker's own.
      this.logger.warn(
        `run ${context.fence.runId}: could not put its job back (${(error as Error).message}); it will stall and be taken again`,
      );
    }
  }

  /** Throwing DelayedError makes BullMQ neither complete nor fail the job: it is not ours any more. */
  private leaveJob(context: TrainingContext): DelayedError {
    context.log.warn(
      this.logger,
      `run ${context.fence.runId}: attempt ${context.fence.attemptId} was replaced; leaving the run and its job alone`,
    );
    return new DelayedError(`run ${context.fence.runId}: attempt fenced off`);
  }
}
