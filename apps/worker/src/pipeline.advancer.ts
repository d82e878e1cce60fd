import { Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { PipelinesRepository, withConnectionRetry } from '@trainyard/db';
import { advancePipeline, enqueueRuns, type EnqueuedRun, type TrainingQueues } from '@trainyard/queue';
import { CONFIG, TRAINING_QUEUES } from '@trainyard/infrastructure';

/**
 * Moves a pipeline on after one of its steps ended (`advancePipeline`: the database decides, then
 * released runs are enqueued and the jobs of cancelled ones removed). A worker that dies between
 * the two leaves released runs QUEUED without a job; the reconciler enqueues those.
 */
@Injectable()
export class PipelineAdvancer {
  private readonly logger = new Logger(PipelineAdvancer.name);

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(TRAINING_QUEUES) private readonly queues: TrainingQueues,
    private readonly pipelines: PipelinesRepository,
  ) {}

  async advance(pipelineId: string): Promise<void> {
    const pipelines = { advance: (id: string) => withConnectionRetry(() => this.pipelines.advance(id)) };
    const enqueue = (runs: readonly EnqueuedRun[]) => enqueueRuns(this.queues, runs, this.config.worker.maxAttempts);
    const outcome = await advancePipeline(pipelines, pipelineId, this.queues, { enqueue });
    for (const run of outcome.released)
      this.logger.log(`pipeline ${pipelineId}: run ${run.id} (${run.kind}) released and queued`);
    if (outcome.cancelled.length)
      this.logger.warn(`pipeline ${pipelineId} ${outcome.status}: ${outcome.cancelled.length} waiting runs cancelled`);
    else if (outcome.status !== 'RUNNING' && outcome.released.length === 0)
      this.logger.log(`pipeline ${pipelineId} ${outcome.status}`);
  }

  /** Never lets a pipeline problem fail the job that triggered it: the reconciler tries again. */
  async advanceQuietly(pipelineId: string): Promise<void> {
    await this.advance(pipelineId).catch((error: Error) =>
      this.logger.warn(`pipeline ${pipelineId}: could not advance (${error.message}); the reconciler will`),
    );
  }
}
