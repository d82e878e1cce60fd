import * as tf from '@tensorflow/tfjs';
import type { ImageSplit } from '@trainyard/datasets';
import { epochOrder, gatherBatch, stepsPerEpoch } from './batches';
import { DivergedError } from './diverged.error';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { ProgressMeter } from './progress-meter';
import type { TrainingHooks, TrainingMetricPoint } from './training-hooks';

/** Per-step samples are named apart from the per-epoch mean `loss`: both would share (name, step). */
export const BATCH_LOSS_METRIC = 'batch_loss';

export interface EpochLoopConfig {
  /** Compiled; `trainOnBatch` returns `metricNames` in order (the loss first). */
  model: tf.LayersModel;
  metricNames: string[];
  train: ImageSplit;
  imageShape: [number, number, number];
  epochs: number;
  batchSize: number;
  seed: number;
  /** The training target of a batch (the images themselves for an autoencoder). */
  targets(x: tf.Tensor4D, labels: Int32Array): tf.Tensor;
  /** Validation metrics after each epoch, e.g. { val_loss }; {} when there is no validation split. */
  validate(): Promise<Record<string, number>>;
  checkpointEveryEpochs: number;
  /** Serializes and hands over a checkpoint (through hooks.onCheckpoint). */
  checkpoint(epoch: number, step: number): Promise<void>;
  hooks: TrainingHooks;
  /** A `batch_loss` point every N steps; by default about 20 per epoch. */
  sampleEverySteps?: number;
  progressIntervalMs?: number;
}

/**
 * The batch loop shared by pretraining and fine-tuning: seeded shuffling per epoch,
 * `trainOnBatch`, divergence and cancellation checks between batches, throttled progress,
 * sampled step metrics, epoch metrics and periodic checkpoints (always one after the last epoch).
 */
export async function runEpochLoop(cfg: EpochLoopConfig): Promise<'completed' | 'cancelled'> {
  const perEpoch = stepsPerEpoch(cfg.train.count, cfg.batchSize);
  if (perEpoch === 0) throw new InvalidTrainingInputError('The training split is empty: nothing to train on');
  const sampleEvery = cfg.sampleEverySteps ?? Math.max(1, Math.ceil(perEpoch / 20));
  const meter = new ProgressMeter({ epochs: cfg.epochs, stepsPerEpoch: perEpoch }, cfg.hooks.onProgress, cfg.progressIntervalMs);
  for (let e = 0; e < cfg.epochs; e++) {
    const epoch = e + 1;
    const order = epochOrder(cfg.train.count, cfg.seed, e);
    const sums = new Array<number>(cfg.metricNames.length).fill(0);
    let seen = 0;
    let step = e * perEpoch;
    for (let b = 0; b < perEpoch; b++) {
      if (cfg.hooks.shouldStop()) return 'cancelled';
      step = e * perEpoch + b;
      const indices = order.subarray(b * cfg.batchSize, Math.min((b + 1) * cfg.batchSize, cfg.train.count));
      const { x, labels } = gatherBatch(cfg.train, indices, cfg.imageShape);
      const y = cfg.targets(x, labels);
      let out: number | number[];
      try {
        out = await cfg.model.trainOnBatch(x, y);
      } finally {
        tf.dispose([x, y]);
      }
      const values = Array.isArray(out) ? out : [out];
      const loss = values[0];
      if (!Number.isFinite(loss)) throw new DivergedError(epoch, step, loss);
      values.forEach((v, i) => (sums[i] += v * indices.length));
      seen += indices.length;
      if (step % sampleEvery === 0) {
        cfg.hooks.onMetrics([point(BATCH_LOSS_METRIC, step, epoch, loss)]);
      }
      meter.step(epoch, step, indices.length, loss, b === 0 && e === 0);
    }
    const validation = await cfg.validate();
    const points = cfg.metricNames.map((name, i) => point(name, step, epoch, sums[i] / seen));
    for (const [name, value] of Object.entries(validation)) points.push(point(name, step, epoch, value));
    cfg.hooks.onMetrics(points);
    if (epoch % cfg.checkpointEveryEpochs === 0 || epoch === cfg.epochs) {
      meter.phase('checkpointing', epoch, step);
      await cfg.checkpoint(epoch, step);
    }
  }
  return 'completed';
}

function point(name: string, step: number, epoch: number, value: number): TrainingMetricPoint {
  return { name, step, epoch, value, wallTime: new Date().toISOString() };
}
