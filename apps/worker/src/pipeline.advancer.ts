import { Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { PipelinesRepository, withConnectionRetry, type PipelineAdvance } from '@trainyard/db';
import { advancePipeline, enqueueRuns, type EnqueuedRun, type TrainingQueues } from '@trainyard/queue';
import { CONFIG, TRAINING_QUEUES } from '@trainyard/infrastructure';
import { DatabasePatience } from './database-patience';

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
    private readonly patience: DatabasePatience,
  ) {}

  /** The reconciler's pass: a lost connection is tried again for about 3 s, then a later pass tries again. */
  advance(pipelineId: string): Promise<void> {
    return this.advanceWith(pipelineId, (id) => withConnectionRetry(() => this.pipelines.advance(id)));
  }

  /**
   * After one of its steps ended, whatever the step's outcome; never fails the job that ended it.
   * The decision waits out a PostgreSQL outage (DatabasePatience) as the run's own writes do, so the
   * next step is enqueued as soon as the database answers, not at the reconciler's next pass (past
   * the patience, or once the worker stops, the reconciler still does it).
   */
  async advanceAfterStep(pipelineId: string, runId: string): Promise<void> {
    const patient = this.patience.forRun(runId, this.logger);
    const decide = (id: string) => patient(`advancing its pipeline ${id}`, () => this.pipelines.advance(id));
    await this.advanceWith(pipelineId, decide).catch((error: Error) =>
      this.logger.warn(`pipeline ${pipelineId}: could not advance (${error.message}); the reconciler will`),
    );
  }

  private async advanceWith(
    pipelineId: string,
    decide: (pipelineId: string) => Promise<PipelineAdvance>,
  ): Promise<void> {
    const enqueue = (runs: readonly EnqueuedRun[]) => enqueueRuns(this.queues, runs, this.config.worker.maxAttempts);
    const outcome = await advancePipeline({ advance: decide }, pipelineId, this.queues, { enqueue });
    for (const run of outcome.released)
      this.logger.log(`pipeline ${pipelineId}: run ${run.id} (${run.kind}) released and queued`);
    if (outcome.cancelled.length)
      this.logger.warn(`pipeline ${pipelineId} ${outcome.status}: ${outcome.cancelled.length} waiting runs cancelled`);
    else if (outcome.status !== 'RUNNING' && outcome.released.length === 0)
      this.logger.log(`pipeline ${pipelineId} ${outcome.status}`);
  }
}
