/** Nest injection tokens for the worker's non-class providers. */
export const CONFIG = Symbol('TrainyardConfig');
export const DATABASE = Symbol('Database');
export const REDIS = Symbol('Redis');
export const WORKER_OPTIONS = Symbol('WorkerOptions');
export const OBJECT_STORE = Symbol('ObjectStore');
export const CHECKPOINT_STORE = Symbol('CheckpointStore');
export const TRAINING_QUEUE = Symbol('TrainingQueue');

export interface WorkerOptions {
  /** Queue to consume; tests give each suite its own. */
  queueName: string;
  /** A stable id for this process in the `workers` table and on attempts. */
  workerId: string;
  /** True when the database belongs to an embedding process (the demo) that closes it itself. */
  sharedDatabase?: boolean;
}
