import { Injectable, Logger } from '@nestjs/common';
import { AttemptWritesRepository, CheckpointsRepository, FencedError, MetricsRepository } from '@trainyard/db';
import type { TrainingEvent } from '@trainyard/training/supervisor';
import { CheckpointRetention } from './checkpoint-retention.service';
import { DatabasePatience } from './database-patience';
import type { TrainingContext } from './training-context';

/**
 * Turns a training process's events into database writes, in order, each one fenced by the
 * attempt and retried while PostgreSQL cannot be reached (DatabasePatience: the training pauses
 * behind them). A FencedError stops the training (another worker owns the run now) instead of
 * failing it: the run is no longer ours to touch.
 */
@Injectable()
export class RunEventsApplier {
  private readonly logger = new Logger(RunEventsApplier.name);

  constructor(
    private readonly writes: AttemptWritesRepository,
    private readonly metrics: MetricsRepository,
    private readonly checkpoints: CheckpointsRepository,
    private readonly retention: CheckpointRetention,
    private readonly patience: DatabasePatience,
  ) {}

  async apply(context: TrainingContext, event: TrainingEvent): Promise<void> {
    if (context.fenced) return;
    try {
      await this.write(context, event);
    } catch (error) {
      if (!(error instanceof FencedError)) throw error;
      this.fence(context, error);
    }
  }

  /** Stops a training whose attempt was replaced; nothing more is written for it. */
  fence(context: TrainingContext, error: FencedError | string): void {
    if (context.fenced) return;
    context.fenced = true;
    context.handle?.cancel();
    context.log.warn(
      this.logger,
      `run ${context.fence.runId}: ${typeof error === 'string' ? error : error.message}; stopping its training`,
    );
  }

  private async write(context: TrainingContext, event: TrainingEvent): Promise<void> {
    const { fence, job } = context;
    const retry = this.patience.forRun(fence.runId, context.log.from(this.logger));
    switch (event.type) {
      case 'backend':
        context.log.log(this.logger, `run ${fence.runId} trains on ${event.backend} (${event.detail})`);
        await retry('recording the backend', () => this.writes.setBackend(fence, event.backend));
        return;
      case 'progress':
        await retry('updating progress', () => this.writes.updateProgress(fence, event.progress));
        // Live views only: a Redis hiccup (or a job lost with a restarted Redis) must not stop training.
        job
          .updateProgress({ ...event.progress })
          .catch((err: Error) =>
            this.logger.debug(`run ${fence.runId}: job progress not sent: ${err.message}`, { ...context.log.fields }),
          );
        return;
      case 'metrics':
        await retry('writing metrics', () =>
          this.metrics.writeFenced(
            fence,
            event.points.map((p) => ({ ...p, wallTime: new Date(p.wallTime) })),
          ),
        );
        return;
      case 'checkpoint':
        // The training wrote every file and the manifest last before announcing it: the folder is whole.
        await retry(`recording checkpoint ${event.sequence}`, () =>
          this.checkpoints.recordComplete(fence, {
            sequence: event.sequence,
            epoch: event.epoch,
            step: event.step,
            uri: event.uri,
            models: event.models,
            bytes: event.bytes,
            sha256: event.sha256,
            reason: event.reason,
            metric: event.metric,
          }),
        );
        // Deleting old checkpoints costs storage round trips: done beside training so events
        // (and a cancel or preemption behind them) are not held up.
        context.retention = context.retention.then(() =>
          this.retention
            .apply(fence, context.log, () => context.outcomeWindow)
            .catch((error: Error) => {
              if (error instanceof FencedError) this.fence(context, error);
            }),
        );
        return;
      case 'checkpoint-corrupt':
        context.log.warn(
          this.logger,
          `run ${fence.runId}: checkpoint ${event.sequence} is unusable (${event.reason}); marked CORRUPT`,
        );
        await retry(`marking checkpoint ${event.sequence} CORRUPT`, () =>
          this.checkpoints.markCorruptBySequence(fence, event.sequence),
        );
        return;
      case 'resumed': {
        const superseded = await retry('superseding lost metric points', () =>
          this.metrics.supersedeAfter(fence, event.step),
        );
        context.log.log(
          this.logger,
          `run ${fence.runId} resumed from checkpoint ${event.sequence} (epoch ${event.epoch}, step ${event.step}); ${superseded} later metric points superseded`,
        );
        return;
      }
      case 'result':
        context.result = event.result;
        return;
      case 'data-report':
        if (event.report.skippedCount > 0)
          context.log.warn(
            this.logger,
            `run ${fence.runId}: ${event.report.skippedCount} unreadable image(s) skipped in ${event.report.folder}`,
          );
        await retry('recording the data report', () => this.writes.setDataReport(fence, event.report));
        return;
    }
  }
}
