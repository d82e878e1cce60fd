import * as tf from '@tensorflow/tfjs';
import type { ClassificationReport, ReconstructionReport } from '@trainyard/contracts';
import type { ImageSplit } from '@trainyard/datasets';
import { sliceBatch } from './batches';
import { classificationReport } from './classification-metrics';

const EVAL_BATCH = 256;

/** Predicts every test image (in batches) and reports accuracy, precision, recall, F1, confusion. */
export async function evaluateClassifier(
  model: tf.LayersModel,
  split: ImageSplit,
  imageShape: [number, number, number],
  classNames: string[],
): Promise<ClassificationReport> {
  const predicted = new Int32Array(split.count);
  for (let start = 0; start < split.count; start += EVAL_BATCH) {
    const end = Math.min(start + EVAL_BATCH, split.count);
    const { x } = sliceBatch(split, start, end, imageShape);
    const classes = tf.tidy(() => (model.predict(x) as tf.Tensor).argMax(-1));
    predicted.set(await classes.data(), start);
    tf.dispose([x, classes]);
  }
  return classificationReport(split.labels, predicted, classNames);
}

/** Mean squared reconstruction error over every pixel of the split. */
export async function evaluateReconstruction(
  autoencoder: tf.LayersModel,
  split: ImageSplit,
  imageShape: [number, number, number],
): Promise<ReconstructionReport> {
  let sum = 0;
  for (let start = 0; start < split.count; start += EVAL_BATCH) {
    const end = Math.min(start + EVAL_BATCH, split.count);
    const { x } = sliceBatch(split, start, end, imageShape);
    const sq = tf.tidy(() => tf.sum(tf.squaredDifference(autoencoder.predict(x) as tf.Tensor, x)));
    sum += (await sq.data())[0];
    tf.dispose([x, sq]);
  }
  const values = split.count * imageShape[0] * imageShape[1] * imageShape[2];
  return { split: 'test', samples: split.count, mse: values === 0 ? 0 : sum / values };
}

/** Mean loss (and accuracy, for classifiers) of a compiled model over a split, by `model.evaluate`. */
export async function evaluateLoss(
  model: tf.LayersModel,
  split: ImageSplit,
  imageShape: [number, number, number],
  targets: (x: tf.Tensor4D, labels: Int32Array) => tf.Tensor,
): Promise<number[]> {
  if (split.count === 0) return [];
  const { x, labels } = sliceBatch(split, 0, split.count, imageShape);
  const y = targets(x, labels);
  const out = model.evaluate(x, y, { batchSize: EVAL_BATCH });
  const scalars = Array.isArray(out) ? out : [out];
  const values = await Promise.all(scalars.map(async (s) => (await s.data())[0]));
  tf.dispose([x, y, ...scalars]);
  return values;
}
