export const DATABASE = Symbol('DATABASE');
export const REDIS_CONNECTION = Symbol('REDIS_CONNECTION');
export const TRAINING_QUEUE = Symbol('TRAINING_QUEUE');
export const OBJECT_STORE = Symbol('OBJECT_STORE');
