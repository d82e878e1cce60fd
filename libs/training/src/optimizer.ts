import * as tf from '@tensorflow/tfjs';
import type { TrainingSpec } from '@trainyard/contracts';

/** The optimizer a spec names, at its learning rate. */
export function createOptimizer(training: Pick<TrainingSpec, 'optimizer' | 'learningRate'>): tf.Optimizer {
  switch (training.optimizer) {
    case 'adam':
      return tf.train.adam(training.learningRate);
    case 'sgd':
      return tf.train.sgd(training.learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(training.learningRate);
  }
}

/**
 * Sets the learning rate of an optimizer made by createOptimizer, for the next step. Adam and
 * RMSProp read their (protected) `learningRate` on every step; SGD keeps it in a scalar that
 * only its `setLearningRate` renews. (Not `instanceof tf.SGDOptimizer`: tfjs's optimizers answer
 * instanceof by duck typing, so every optimizer is one.)
 */
export function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  const settable = optimizer as unknown as { learningRate: number; setLearningRate?: (rate: number) => void };
  if (typeof settable.setLearningRate === 'function') settable.setLearningRate(learningRate);
  else settable.learningRate = learningRate;
}
