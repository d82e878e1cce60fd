import { Inject, Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import type { TrainyardConfig } from '@trainyard/config';
import { isTerminal, type RunResult, type RunSpec, type TrainingJobData } from '@trainyard/contracts';
import {
  AttemptsRepository,
  CheckpointsRepository,
  MetricsRepository,
  RunsRepository,
} from '@trainyard/db';
import { startTrainingThread, type TrainingEvent, type TrainingOutcome } from '@trainyard/training';
import { CONFIG, WORKER_OPTIONS, type WorkerOptions } from './worker.tokens';

const CANCEL_POLL_MS = 1000;

/**
 * Runs one training job. The job carries only the run id: everything else is read from
 * PostgreSQL. Training itself runs in a worker thread, so this event loop stays free to renew the
 * BullMQ lock, write metrics and watch for cancellation while the thread computes.
 */
@Injectable()
export class TrainingProcessor {
  private readonly logger = new Logger(TrainingProcessor.name);

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    private readonly runs: RunsRepository,
    private readonly attempts: AttemptsRepository,
    private readonly metrics: MetricsRepository,
    private readonly checkpoints: CheckpointsRepository,
  ) {}

  async process(job: Job<TrainingJobData>): Promise<{ status: string }> {
    const { runId } = job.data;
    const run = await this.runs.get(runId);
    if (!run) throw new UnrecoverableError(`run ${runId} does not exist in the database`);
    if (isTerminal(run.status)) {
      this.logger.warn(`run ${runId} is already ${run.status}; nothing to do`);
      return { status: run.status };
    }
    if (run.cancelRequested) {
      await this.runs.finish(runId, 'CANCELLED');
      return { status: 'CANCELLED' };
    }

    // A previous attempt still RUNNING here means its worker died without closing it.
    for (const stale of (await this.attempts.listByRun(runId)).filter((a) => a.outcome === 'RUNNING')) {
      await this.attempts.close(stale.id, 'CRASHED', 'worker stopped without closing the attempt');
    }
    const attempt = await this.attempts.open(runId, this.options.workerId, null);
    const spec = run.spec as unknown as RunSpec;
    this.logger.log(`run ${runId} (${spec.kind} "${run.name}") attempt ${attempt.number} started`);

    let baseCheckpointUri: string | undefined;
    if (spec.kind === 'finetune' && spec.model.baseRunId) {
      const base = await this.checkpoints.latestComplete(spec.model.baseRunId);
      if (!base || !base.models.includes('encoder')) {
        return this.fail(runId, attempt.id, `base run ${spec.model.baseRunId} has no complete checkpoint with an encoder`);
      }
      baseCheckpointUri = base.uri;
    }

    let result: RunResult | undefined;
    // Events are applied strictly in order: a checkpoint row must never precede the metrics before it.
    let applying: Promise<void> = Promise.resolve();
    const onEvent = (event: TrainingEvent) => {
      applying = applying.then(() => this.apply(job, runId, attempt.id, event, (r) => (result = r)));
      return applying;
    };

    const handle = startTrainingThread(
      {
        runId,
        spec,
        storage: this.config.storage,
        backend: this.config.engine.backend,
        baseCheckpointUri,
        firstCheckpointSequence: await this.checkpoints.nextSequence(runId),
      },
      onEvent,
    );
    const cancelWatch = setInterval(() => {
      this.runs
        .isCancelRequested(runId)
        .then((requested) => requested && handle.cancel())
        .catch((err) => this.logger.warn(`cancel check for run ${runId} failed: ${err}`));
    }, CANCEL_POLL_MS);

    let outcome: TrainingOutcome;
    try {
      outcome = await handle.done;
      await applying;
    } finally {
      clearInterval(cancelWatch);
    }
    return this.conclude(job, runId, attempt.id, outcome, result);
  }

  private async apply(
    job: Job<TrainingJobData>,
    runId: string,
    attemptId: string,
    event: TrainingEvent,
    setResult: (r: RunResult) => void,
  ): Promise<void> {
    switch (event.type) {
      case 'backend':
        this.logger.log(`run ${runId} trains on ${event.backend} (${event.detail})`);
        await this.attempts.setBackend(attemptId, event.backend);
        await this.runs.markRunning(runId, event.backend);
        return;
      case 'progress':
        await job.updateProgress({ ...event.progress });
        await this.runs.updateProgress(runId, event.progress);
        return;
      case 'metrics':
        await this.metrics.write(
          runId,
          attemptId,
          event.points.map((p) => ({ ...p, wallTime: new Date(p.wallTime) })),
        );
        return;
      case 'checkpoint': {
        const row = await this.checkpoints.begin({
          runId,
          attemptId,
          sequence: event.sequence,
          epoch: event.epoch,
          step: event.step,
          uri: event.uri,
          models: event.models,
        });
        // The thread has already written every file and the manifest last: the folder is whole.
        await this.checkpoints.complete(row.id, event.bytes, event.sha256);
        return;
      }
      case 'result':
        setResult(event.result);
        return;
    }
  }

  private async conclude(
    job: Job<TrainingJobData>,
    runId: string,
    attemptId: string,
    outcome: TrainingOutcome,
    result: RunResult | undefined,
  ): Promise<{ status: string }> {
    switch (outcome.status) {
      case 'succeeded':
        await this.attempts.close(attemptId, 'SUCCEEDED');
        await this.runs.finish(runId, 'SUCCEEDED', { result });
        this.logger.log(`run ${runId} SUCCEEDED`);
        return { status: 'SUCCEEDED' };
      case 'cancelled':
        await this.attempts.close(attemptId, 'CANCELLED');
        await this.runs.finish(runId, 'CANCELLED');
        this.logger.log(`run ${runId} CANCELLED`);
        return { status: 'CANCELLED' };
      case 'failed': {
        const maxAttempts = job.opts.attempts ?? 1;
        const retrying = outcome.retryable && job.attemptsMade + 1 < maxAttempts;
        if (!retrying) return this.fail(runId, attemptId, outcome.reason);
        await this.attempts.close(attemptId, 'FAILED', outcome.reason);
        await this.runs.finish(runId, 'PREEMPTED', { failureReason: `retrying after: ${outcome.reason}` });
        this.logger.warn(`run ${runId} attempt failed, will retry: ${outcome.reason}`);
        throw new Error(outcome.reason);
      }
    }
  }

  private async fail(runId: string, attemptId: string, reason: string): Promise<never> {
    await this.attempts.close(attemptId, 'FAILED', reason);
    await this.runs.finish(runId, 'FAILED', { failureReason: reason });
    this.logger.error(`run ${runId} FAILED: ${reason}`);
    throw new UnrecoverableError(reason);
  }
}
