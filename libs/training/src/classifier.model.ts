import * as tf from '@tensorflow/tfjs';
import type { ClassifierSpec } from '@trainyard/contracts';
import { buildEncoder } from './conv-autoencoder.model';
import { seededKernels } from './seeded-initializers';

export interface ClassifierInput {
  /** The pretrained encoder (restored from the base run), or null to build a fresh one from the spec. */
  encoder: tf.LayersModel | null;
  spec: ClassifierSpec;
  numClasses: number;
  /** Fixes the starting weights of every new layer (the run's training seed). */
  seed?: number;
}

/**
 * Encoder → optional `dense(headUnits, relu)` + dropout → `dense(numClasses, softmax)`. The head is
 * applied to the encoder's own input and output, so the classifier's layers are the encoder's
 * layers (same weights, trained further unless `freezeBase`) plus the head.
 */
export function buildClassifier({ encoder, spec, numClasses, seed }: ClassifierInput): tf.LayersModel {
  const base = encoder ?? buildEncoder(spec, seed);
  // The head's seeds are offset from the encoder's so a pretrained and a scratch run share a head init.
  const kernel = seededKernels(seed === undefined ? undefined : seed + 1);
  if (spec.freezeBase) base.layers.forEach((layer) => (layer.trainable = false));
  let x = base.outputs[0];
  if (spec.headUnits > 0) {
    x = tf.layers.dense({ units: spec.headUnits, activation: 'relu', name: 'head_hidden', ...kernel() }).apply(x) as tf.SymbolicTensor;
  }
  if (spec.dropout > 0) x = tf.layers.dropout({ rate: spec.dropout, name: 'head_dropout' }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: numClasses, activation: 'softmax', name: 'predictions', ...kernel() }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: base.inputs, outputs: output, name: 'classifier' });
}
