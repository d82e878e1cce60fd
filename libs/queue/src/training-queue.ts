import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  JOB_NAMES,
  specKindOf,
  TRAINING_QUEUE,
  type RunKind,
  type TrainingJobData,
  type TrainingJobName,
} from '@trainyard/contracts';

export type TrainingQueue = Queue<TrainingJobData, unknown, TrainingJobName>;

/**
 * Options every training job gets. `attempts` is left to `enqueueRun` because it comes from
 * config. Finished jobs are trimmed because the run history lives in PostgreSQL, not Redis.
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: { count: 1000, age: 7 * 24 * 3600 },
  removeOnFail: { count: 5000, age: 30 * 24 * 3600 },
};

export function createTrainingQueue(connection: Redis, name: string = TRAINING_QUEUE): TrainingQueue {
  return new Queue<TrainingJobData, unknown, TrainingJobName>(name, {
    connection,
    defaultJobOptions: DEFAULT_JOB_OPTIONS,
  });
}

/**
 * The job id is the run id, so enqueueing the same run twice is a no-op in BullMQ, and the
 * payload is only the id: a worker reads everything else from PostgreSQL.
 */
export async function enqueueRun(
  queue: TrainingQueue,
  run: { id: string; kind: RunKind },
  attempts: number,
): Promise<void> {
  await queue.add(
    JOB_NAMES[specKindOf(run.kind)],
    { runId: run.id },
    { ...DEFAULT_JOB_OPTIONS, jobId: run.id, attempts },
  );
}
