import { Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { PipelinesRepository, withConnectionRetry } from '@trainyard/db';
import { enqueueRun, type TrainingQueue } from '@trainyard/queue';
import { CONFIG, TRAINING_QUEUE } from './worker.tokens';

/**
 * Moves a pipeline on after one of its steps ended: the database decides (PipelinesRepository),
 * then released runs are enqueued and the jobs of cancelled ones removed. A worker that dies
 * between the two leaves released runs QUEUED without a job; the reconciler enqueues those.
 */
@Injectable()
export class PipelineAdvancer {
  private readonly logger = new Logger(PipelineAdvancer.name);

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(TRAINING_QUEUE) private readonly queue: TrainingQueue,
    private readonly pipelines: PipelinesRepository,
  ) {}

  async advance(pipelineId: string): Promise<void> {
    const outcome = await withConnectionRetry(() => this.pipelines.advance(pipelineId));
    for (const run of outcome.released) {
      await enqueueRun(this.queue, run, this.config.worker.maxAttempts);
      this.logger.log(`pipeline ${pipelineId}: run ${run.id} (${run.kind}) released and queued`);
    }
    for (const runId of outcome.cancelled) {
      await this.queue.remove(runId).catch(() => undefined);
    }
    if (outcome.cancelled.length) this.logger.warn(`pipeline ${pipelineId} ${outcome.status}: ${outcome.cancelled.length} waiting runs cancelled`);
    else if (outcome.status !== 'RUNNING' && outcome.released.length === 0) this.logger.log(`pipeline ${pipelineId} ${outcome.status}`);
  }

  /** Never lets a pipeline problem fail the job that triggered it: the reconciler tries again. */
  async advanceQuietly(pipelineId: string): Promise<void> {
    await this.advance(pipelineId).catch((error: Error) => this.logger.warn(`pipeline ${pipelineId}: could not advance (${error.message}); the reconciler will`));
  }
}
