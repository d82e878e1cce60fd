import * as tf from '@tensorflow/tfjs';
import { type ClassifierSpec, effectiveFreezing } from '@trainyard/contracts';
import type { ImageSplit } from '@trainyard/datasets';
import { sliceBatch } from './batches';
import { buildEncoder } from './conv-autoencoder.model';
import { cutModel, encoderCutLayer, TRAINYARD_CLASSIFIER } from './base-model';
import { applyLayers } from './layers.model';
import { seededKernels } from './seeded-initializers';

export interface ClassifierInput {
  /**
   * The base, already cut: a pretrained encoder (cut at `spec.cutAt`), an imported or registered
   * model cut at a layer, or null to build a fresh encoder from the spec and cut it at `spec.cutAt`.
   */
  encoder: tf.LayersModel | null;
  spec: ClassifierSpec;
  numClasses: number;
  /** Fixes the starting weights of every new layer (the run's training seed). */
  seed?: number;
  /** The spec's own head (`layers.head`, built for the base's features) in place of the built-in one. */
  head?: tf.layers.Layer[];
}

/**
 * Base → [flatten, for a convolutional cut] → [batch norm, `headNorm`] → optional
 * `dense(headUnits, relu)` + dropout → `dense(numClasses, softmax)`. The head is applied to the
 * base's own input and output, so the classifier's layers are the base's layers (same weights)
 * plus the head. The normalisation gives the fresh head inputs of unit scale whatever the base's
 * features look like (an autoencoder's can be ~100× a fresh encoder's: see docs/training.md). The
 * base starts frozen for freezing modes 'base' and 'two-stage' (see freezing.ts for the second stage).
 */
export function buildClassifier({ encoder, spec, numClasses, seed, head }: ClassifierInput): tf.LayersModel {
  const base = encoder ?? scratchBase(spec, seed);
  if (effectiveFreezing(spec).mode !== 'none') base.layers.forEach((layer) => (layer.trainable = false));
  if (head)
    return tf.model({ inputs: base.inputs, outputs: applyLayers(head, base.outputs[0]!), name: TRAINYARD_CLASSIFIER });
  // The head's seeds are offset from the encoder's so a pretrained and a scratch run share a head init.
  const kernel = seededKernels(seed === undefined ? undefined : seed + 1);
  let x = base.outputs[0];
  // A cut inside a convolutional stack (Keras's block5_pool) leaves feature maps: the Keras recipe flattens them.
  if (x.shape.length > 2) x = tf.layers.flatten({ name: 'head_flatten' }).apply(x) as tf.SymbolicTensor;
  if (spec.headNorm === 'batchNorm')
    x = tf.layers.batchNormalization({ name: 'head_norm' }).apply(x) as tf.SymbolicTensor;
  if (spec.headUnits > 0) {
    x = tf.layers
      .dense({ units: spec.headUnits, activation: 'relu', name: 'head_hidden', ...kernel() })
      .apply(x) as tf.SymbolicTensor;
  }
  if (spec.dropout > 0)
    x = tf.layers.dropout({ rate: spec.dropout, name: 'head_dropout' }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers
    .dense({ units: numClasses, activation: 'softmax', name: 'predictions', ...kernel() })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: base.inputs, outputs: output, name: TRAINYARD_CLASSIFIER });
}

/** A fresh encoder of the spec's architecture (seeded like a pretrain's), cut where a pretrained one would be. */
function scratchBase(spec: ClassifierSpec, seed: number | undefined): tf.LayersModel {
  const encoder = buildEncoder(spec, seed);
  const cutAt = spec.cutAt ?? 'conv';
  return cutAt === 'latent' ? encoder : cutModel(encoder, encoderCutLayer(encoder, cutAt), 'the fresh encoder');
}

/** Training images whose base features set the head's normalisation statistics. */
const NORM_STATISTICS_IMAGES = 1024;
const NORM_STATISTICS_BATCH = 256;

/**
 * Sets the head's batch-norm statistics (moving mean and variance) to those of the base's
 * features as they are now, over the first training images (at most 1,024, in the split's seeded
 * order): "precise BN" (Wu & Johnson, 2021). Called before every validation, so validation, the
 * checkpoints and the test use the statistics of exactly the weights they hold. A batch norm's own
 * moving averages (momentum 0.99) start at 0 and 1 and lag: 80 steps into a few-label fine-tune
 * they still weigh the start at 45 %, and such fine-tunes tested up to 20 points below the same
 * ones with no normalisation at all (docs/training.md). Training itself uses batch statistics, so
 * this changes no training step. Does nothing without a 'head_norm' layer. `batch` images at a time
 * (part of the validation pass: evaluationBatch).
 */
export async function calibrateHeadNorm(
  classifier: tf.LayersModel,
  train: ImageSplit,
  imageShape: [number, number, number],
  batch = NORM_STATISTICS_BATCH,
): Promise<void> {
  const norm = classifier.layers.find((l) => l.name === 'head_norm');
  const count = Math.min(train.count, NORM_STATISTICS_IMAGES);
  if (!norm || count === 0) return;
  const features = tf.model({ inputs: classifier.inputs, outputs: norm.input as tf.SymbolicTensor });
  // Running sums of the features and of their squares, tensors replaced batch by batch.
  const add = (total: tf.Tensor | undefined, part: tf.Tensor) => {
    if (!total) return part;
    const next = total.add(part);
    tf.dispose([total, part]);
    return next;
  };
  let sum: tf.Tensor | undefined;
  let squares: tf.Tensor | undefined;
  for (let start = 0; start < count; start += batch) {
    const { x } = sliceBatch(train, start, Math.min(start + batch, count), imageShape);
    const [s, q] = tf.tidy(() => {
      const f = features.predict(x) as tf.Tensor2D;
      return [f.sum(0), f.square().sum(0)];
    });
    x.dispose();
    sum = add(sum, s);
    squares = add(squares, q);
  }
  const [mean, variance] = tf.tidy(() => {
    const m = sum!.div(count);
    return [m, tf.relu(squares!.div(count).sub(m.square()))];
  });
  // The layer's weights are [gamma, beta, moving mean, moving variance].
  const [, , movingMean, movingVariance] = norm.weights;
  movingMean.write(mean);
  movingVariance.write(variance);
  tf.dispose([sum!, squares!, mean, variance]);
}
