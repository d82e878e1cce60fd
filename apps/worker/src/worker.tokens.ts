/** Nest injection tokens for the worker's own non-class providers (the shared ones are @trainyard/infrastructure's). */
export const WORKER_OPTIONS = Symbol('WorkerOptions');
export const CHECKPOINT_STORE = Symbol('CheckpointStore');

export interface WorkerOptions {
  /** Queue to consume; tests give each suite its own. */
  queueName: string;
  /** A stable id for this process in the `workers` table and on attempts. */
  workerId: string;
}
