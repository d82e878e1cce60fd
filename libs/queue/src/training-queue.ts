import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { TRAINING_QUEUE, type TrainingJobData, type TrainingJobName } from '@trainyard/contracts';

export type TrainingQueue = Queue<TrainingJobData, unknown, TrainingJobName>;

/**
 * Options every training job gets. `attempts` and `priority` are left to `enqueueRun`/`enqueueRuns` (config,
 * the run's spec). Finished jobs are trimmed because the run history lives in PostgreSQL, not Redis.
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: { count: 1000, age: 7 * 24 * 3600 },
  removeOnFail: { count: 5000, age: 30 * 24 * 3600 },
};

/** One BullMQ queue; a deployment has one per resource class (TrainingQueues). */
export function createTrainingQueue(connection: Redis, name: string = TRAINING_QUEUE): TrainingQueue {
  return new Queue<TrainingJobData, unknown, TrainingJobName>(name, {
    connection,
    defaultJobOptions: DEFAULT_JOB_OPTIONS,
  });
}
