import type { EnqueuedRun, TrainingQueues } from './training-queues';

/** What an advance or a cancel of a pipeline decided in PostgreSQL (PipelinesRepository): the queue side is left to do. */
export interface PipelineDecision {
  /** Runs released: they get their job. */
  released: readonly EnqueuedRun[];
  /** Waiting runs cancelled: their jobs, if any, go. */
  cancelled: readonly string[];
}

export interface PipelineQueueOptions {
  /**
   * Enqueues the released runs, all of them in one call (never called with none): `enqueueRuns`
   * with WORKER_MAX_ATTEMPTS in a worker; in the API, its own, which marks them FAILED when Redis
   * does not answer in time. A failure rejects; the reconciler enqueues what stayed QUEUED without
   * a job.
   */
  enqueue: (runs: readonly EnqueuedRun[]) => Promise<void>;
  /**
   * Removing a cancelled run's job failed (Redis did not answer). Ignored unless given; the other
   * jobs are removed all the same. A job a worker holds is not removed and is no failure: that
   * worker finds the run CANCELLED and stops.
   */
  onRemoveFailed?: (runId: string, error: Error) => void;
}

/**
 * The queue side of a pipeline decision: the jobs of the runs it cancelled are removed, then the
 * runs it released are enqueued. PostgreSQL decided first, so a process that dies in between
 * leaves nothing the reconciler cannot mend (job id = run id: enqueueing again is a no-op).
 */
export async function applyPipelineDecision(
  queues: TrainingQueues,
  decision: PipelineDecision,
  options: PipelineQueueOptions,
): Promise<void> {
  for (const runId of decision.cancelled) {
    await queues.remove(runId).then(
      () => undefined,
      (error: Error) => options.onRemoveFailed?.(runId, error),
    );
  }
  if (decision.released.length > 0) await options.enqueue(decision.released);
}

/**
 * Moves a pipeline on after one of its steps ended or was cancelled — the database decides
 * (`pipelines.advance`, PipelinesRepository's), then `applyPipelineDecision` — and returns the
 * decision. Used by the worker that ended a step, the reconciler's pass and the API's run cancel.
 */
export async function advancePipeline<D extends PipelineDecision>(
  pipelines: { advance(pipelineId: string): Promise<D> },
  pipelineId: string,
  queues: TrainingQueues,
  options: PipelineQueueOptions,
): Promise<D> {
  const decision = await pipelines.advance(pipelineId);
  await applyPipelineDecision(queues, decision, options);
  return decision;
}
