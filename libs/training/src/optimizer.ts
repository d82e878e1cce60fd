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
