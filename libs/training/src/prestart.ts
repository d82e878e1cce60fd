/**
 * Set on a training process started ahead of its attempt (prestartTrainingProcess): training.child.ts
 * then loads TensorFlow.js and initialises this backend ('auto': initEngine's own choice) before
 * its start message comes.
 */
export const PRESTART_BACKEND_ENV = 'TRAINYARD_PRESTART_BACKEND';
