/**
 * The injection tokens of the adapters both apps use, one set for the API and the worker.
 * Repositories need none: they are provided under their own classes.
 */
export const CONFIG = Symbol('TrainyardConfig');
export const DATABASE = Symbol('Database');
export const REDIS = Symbol('Redis');
export const TRAINING_QUEUE = Symbol('TrainingQueue');
export const OBJECT_STORE = Symbol('ObjectStore');
