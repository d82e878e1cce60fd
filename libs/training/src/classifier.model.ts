import * as tf from '@tensorflow/tfjs';
import type { ClassifierSpec } from '@trainyard/contracts';
import { buildEncoder } from './conv-autoencoder.model';

export interface ClassifierInput {
  /** The pretrained encoder (restored from the base run), or null to build a fresh one from the spec. */
  encoder: tf.LayersModel | null;
  spec: ClassifierSpec;
  numClasses: number;
}

/**
 * Encoder → optional `dense(headUnits, relu)` + dropout → `dense(numClasses, softmax)`. The head is
 * applied to the encoder's own input and output, so the classifier's layers are the encoder's
 * layers (same weights, trained further unless `freezeBase`) plus the head.
 */
export function buildClassifier({ encoder, spec, numClasses }: ClassifierInput): tf.LayersModel {
  const base = encoder ?? buildEncoder(spec);
  if (spec.freezeBase) base.layers.forEach((layer) => (layer.trainable = false));
  let x = base.outputs[0];
  if (spec.headUnits > 0) {
    x = tf.layers.dense({ units: spec.headUnits, activation: 'relu', name: 'head_hidden' }).apply(x) as tf.SymbolicTensor;
  }
  if (spec.dropout > 0) x = tf.layers.dropout({ rate: spec.dropout, name: 'head_dropout' }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: numClasses, activation: 'softmax', name: 'predictions' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: base.inputs, outputs: output, name: 'classifier' });
}
