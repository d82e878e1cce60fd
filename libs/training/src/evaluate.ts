import * as tf from '@tensorflow/tfjs';
import type { ClassificationReport, ReconstructionReport } from '@trainyard/contracts';
import type { ImageSplit } from '@trainyard/datasets';
import { sliceBatch } from './batches';
import { classificationReport } from './classification-metrics';

const EVAL_BATCH = 256;

/**
 * The batch of a run's validation pass and test evaluation: 256 images, never more than the
 * run's training batch. A pass only predicts, so it needs less memory than a training step on
 * the same batch: a run whose steps fit (on wasm's 4 GiB, say) has passes that fit too, and
 * lowering training.batchSize lowers both (memory-failure.ts says so).
 */
export function evaluationBatch(trainingBatchSize: number): number {
  return Math.min(EVAL_BATCH, trainingBatchSize);
}

/** Predicts every test image (`batch` at a time) and reports accuracy, precision, recall, F1, confusion. */
export async function evaluateClassifier(
  model: tf.LayersModel,
  split: ImageSplit,
  imageShape: [number, number, number],
  classNames: string[],
  batch = EVAL_BATCH,
): Promise<ClassificationReport> {
  const predicted = new Int32Array(split.count);
  for (let start = 0; start < split.count; start += batch) {
    const end = Math.min(start + batch, split.count);
    const { x } = sliceBatch(split, start, end, imageShape);
    const classes = tf.tidy(() => (model.predict(x) as tf.Tensor).argMax(-1));
    predicted.set(await classes.data(), start);
    tf.dispose([x, classes]);
  }
  return classificationReport(split.labels, predicted, classNames);
}

/** Mean squared reconstruction error over every pixel of the split, `batch` images at a time. */
export async function evaluateReconstruction(
  autoencoder: tf.LayersModel,
  split: ImageSplit,
  imageShape: [number, number, number],
  batch = EVAL_BATCH,
): Promise<ReconstructionReport> {
  let sum = 0;
  for (let start = 0; start < split.count; start += batch) {
    const end = Math.min(start + batch, split.count);
    const { x } = sliceBatch(split, start, end, imageShape);
    const sq = tf.tidy(() => tf.sum(tf.squaredDifference(autoencoder.predict(x) as tf.Tensor, x)));
    sum += (await sq.data())[0];
    tf.dispose([x, sq]);
  }
  const values = split.count * imageShape[0] * imageShape[1] * imageShape[2];
  return { split: 'test', samples: split.count, mse: values === 0 ? 0 : sum / values };
}

/**
 * Mean loss (and accuracy, for classifiers) of a compiled model over a split, by `model.evaluate`
 * on `batch` images at a time, each weighted by its size (as `model.evaluate` weighs its own
 * batches): only one batch of the split, and its targets, is ever a tensor.
 */
export async function evaluateLoss(
  model: tf.LayersModel,
  split: ImageSplit,
  imageShape: [number, number, number],
  targets: (x: tf.Tensor4D, labels: Int32Array) => tf.Tensor,
  batch = EVAL_BATCH,
): Promise<number[]> {
  if (split.count === 0) return [];
  let sums: number[] = [];
  for (let start = 0; start < split.count; start += batch) {
    const end = Math.min(start + batch, split.count);
    const { x, labels } = sliceBatch(split, start, end, imageShape);
    const y = targets(x, labels);
    const out = model.evaluate(x, y, { batchSize: batch });
    const scalars = Array.isArray(out) ? out : [out];
    const values = await Promise.all(scalars.map(async (s) => (await s.data())[0]));
    tf.dispose([x, y, ...scalars]);
    sums = values.map((v, i) => (sums[i] ?? 0) + v * (end - start));
  }
  return sums.map((sum) => sum / split.count);
}
