/**
 * The injection tokens of the adapters both apps use, one set for the API and the worker.
 * Repositories need none: they are provided under their own classes.
 */
export const CONFIG = Symbol('TrainyardConfig');
export const DATABASE = Symbol('Database');
export const REDIS = Symbol('Redis');
/** The deployment's training queues, one per resource class (TrainingQueues). */
export const TRAINING_QUEUES = Symbol('TrainingQueues');
export const OBJECT_STORE = Symbol('ObjectStore');
