import * as tf from '@tensorflow/tfjs';
import { type ClassifierSpec, effectiveFreezing } from '@trainyard/contracts';
import { buildEncoder } from './conv-autoencoder.model';
import { TRAINYARD_CLASSIFIER } from './base-model';
import { seededKernels } from './seeded-initializers';

export interface ClassifierInput {
  /**
   * The base: a pretrained encoder (restored from the base run), an imported or registered model
   * cut at a layer, or null to build a fresh encoder from the spec.
   */
  encoder: tf.LayersModel | null;
  spec: ClassifierSpec;
  numClasses: number;
  /** Fixes the starting weights of every new layer (the run's training seed). */
  seed?: number;
}

/**
 * Base → [flatten, for a convolutional cut] → optional `dense(headUnits, relu)` + dropout →
 * `dense(numClasses, softmax)`. The head is applied to the base's own input and output, so the
 * classifier's layers are the base's layers (same weights) plus the head. The base starts frozen
 * for freezing modes 'base' and 'two-stage' (see freezing.ts for the second stage).
 */
export function buildClassifier({ encoder, spec, numClasses, seed }: ClassifierInput): tf.LayersModel {
  const base = encoder ?? buildEncoder(spec, seed);
  // The head's seeds are offset from the encoder's so a pretrained and a scratch run share a head init.
  const kernel = seededKernels(seed === undefined ? undefined : seed + 1);
  if (effectiveFreezing(spec).mode !== 'none') base.layers.forEach((layer) => (layer.trainable = false));
  let x = base.outputs[0];
  // A cut inside a convolutional stack (Keras's block5_pool) leaves feature maps: the Keras recipe flattens them.
  if (x.shape.length > 2) x = tf.layers.flatten({ name: 'head_flatten' }).apply(x) as tf.SymbolicTensor;
  if (spec.headUnits > 0) {
    x = tf.layers.dense({ units: spec.headUnits, activation: 'relu', name: 'head_hidden', ...kernel() }).apply(x) as tf.SymbolicTensor;
  }
  if (spec.dropout > 0) x = tf.layers.dropout({ rate: spec.dropout, name: 'head_dropout' }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: numClasses, activation: 'softmax', name: 'predictions', ...kernel() }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: base.inputs, outputs: output, name: TRAINYARD_CLASSIFIER });
}
