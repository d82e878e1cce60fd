import * as tf from '@tensorflow/tfjs';
import type { BatchPipeline, ImageSplit } from '@trainyard/datasets';
import type { WeightsPosition } from '@trainyard/contracts';
import { epochOrder, gatherBatch } from './batches';
import { evaluationBatch } from './evaluate';
import { DivergedError } from './diverged.error';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { scheduledLearningRate } from './learning-rate-schedule';
import { setLearningRate } from './optimizer';
import { ProgressMeter } from './progress-meter';
import type { CheckpointMetric, TrainingHooks, TrainingMetricPoint } from './training-hooks';
import { batchesInEpoch, type TrainingPlan } from './training-plan';
import { namingMemoryFailures } from './memory-failure';
import type { CheckpointAt, LoopStart } from './training-state';
import { freshTracking, observeValidation, type ValidationRules, type ValidationTracking } from './validation-tracking';

/** Per-step samples are named apart from the per-epoch mean `loss`: both would share (name, step). */
export const BATCH_LOSS_METRIC = 'batch_loss';
/** The learning rate of an epoch's last step, reported per epoch when a schedule moves it. */
export const LEARNING_RATE_METRIC = 'learning_rate';

export interface EpochLoopConfig extends ValidationRules {
  /** Compiled; `trainOnBatch` returns `metricNames` in order (the loss first). */
  model: tf.LayersModel;
  metricNames: string[];
  /** Gathered from when there is no `pipeline` (a streamed dataset's pipeline serves every batch). */
  train: ImageSplit;
  imageShape: [number, number, number];
  /** The budget laid out over `train` (planTraining). */
  plan: TrainingPlan;
  batchSize: number;
  seed: number;
  /** The stage's learning rate before the schedule, per 0-based epoch (two-stage lowers it). */
  learningRate(epochIndex: number): number;
  /** The training target of a batch (the images themselves for an autoencoder). */
  targets(x: tf.Tensor4D, labels: Int32Array): tf.Tensor;
  /** Validation metrics after each epoch, e.g. { val_loss }; {} when there is no validation split. On batches of evaluationBatch(batchSize). */
  validate(): Promise<Record<string, number>>;
  checkpointEveryEpochs: number;
  /** Serializes and hands over a checkpoint (through hooks.onCheckpoint); resolves to its sequence. */
  checkpoint(at: CheckpointAt): Promise<number>;
  hooks: TrainingHooks;
  /** Where to start (a resumed checkpoint's position and tracking); the beginning by default. */
  start?: LoopStart;
  /**
   * Serves the training batches (augmented, assembled off this thread) instead of gathering them
   * here. Its epoch order is `epochOrder`'s, so either source trains the same images per step.
   */
  pipeline?: BatchPipeline;
  /** Called before each epoch's first batch (0-based index), e.g. to switch a two-stage fine-tune. */
  beforeEpoch?(epochIndex: number): void | Promise<void>;
  /** A `batch_loss` point every N steps; by default about 20 per epoch. */
  sampleEverySteps?: number;
  progressIntervalMs?: number;
}

export type EpochLoopResult =
  | { status: 'completed'; tracking: ValidationTracking; last: WeightsPosition }
  | { status: 'cancelled' }
  | { status: 'preempted' };

/**
 * The batch loop shared by pretraining and fine-tuning: seeded shuffling per epoch,
 * `trainOnBatch` at the scheduled learning rate, divergence, cancellation and preemption checks
 * between batches, throttled progress, sampled step metrics, epoch metrics, the validation rules
 * (best weights, early stopping, reduceOnPlateau) and checkpoints: every `checkpointEveryEpochs`
 * epochs, at each new best (so the best weights are stored), and always after the last epoch
 * (the budget's, or the one early stopping ended). Global step `s` is always batch
 * `s % stepsPerEpoch` of the 0-based epoch `floor(s / stepsPerEpoch)`, and that epoch's order
 * depends on the seed and its index only, so starting at a checkpoint's position (with its
 * tracking) trains exactly the batches, at the same rates, that an uninterrupted run would have.
 */
export async function runEpochLoop(cfg: EpochLoopConfig): Promise<EpochLoopResult> {
  const { plan } = cfg;
  const perEpoch = plan.stepsPerEpoch;
  const start: LoopStart = cfg.start ?? { epoch: 0, nextBatch: 0, step: -1 };
  const inside =
    start.epoch < plan.epochs
      ? start.nextBatch < batchesInEpoch(plan, start.epoch)
      : start.epoch === plan.epochs && start.nextBatch === 0;
  if (!inside) {
    throw new InvalidTrainingInputError(
      `Cannot resume at epoch ${start.epoch}, batch ${start.nextBatch}: the run trains ${plan.totalSteps} steps, ${plan.epochs} epochs of ${perEpoch} batches`,
    );
  }
  let tracking = start.tracking ?? freshTracking(cfg);
  // The best found in the checkpoint resumed from is stored in that very checkpoint.
  if (tracking.best?.sequence === null && tracking.best.step === start.step && start.sequence !== undefined) {
    tracking = { ...tracking, best: { ...tracking.best, sequence: start.sequence } };
  }
  const sampleEvery = cfg.sampleEverySteps ?? Math.max(1, Math.ceil(perEpoch / 20));
  const meter = new ProgressMeter(plan, cfg.hooks.onProgress, cfg.progressIntervalMs);
  const preempted = () => cfg.hooks.shouldPreempt?.() ?? false;
  // Batches trained since the last checkpoint (or the one resumed from): a preemption with none
  // needs no checkpoint, the last one already holds this very position.
  let unsaved = 0;
  // The validation metric of the current weights, known only right after an epoch's validation.
  let metricHere: CheckpointMetric | undefined = start.metric ?? undefined;
  let last: WeightsPosition = {
    epoch: start.epoch,
    step: start.step,
    sequence: start.sequence ?? null,
    validation: metricHere ?? null,
  };
  let trained = 0;
  // No training step of the run has succeeded yet: running out of memory now would come back on every attempt.
  const firstOfRun = () => trained === 0 && start.step < 0;
  let learningRate: number | undefined;
  const served = cfg.pipeline ? pipelineBatches(cfg.pipeline, start.epoch, start.nextBatch, plan.epochs) : undefined;
  try {
    return await loop();
  } finally {
    // Drops the pipeline's read-ahead when the loop stops early (cancel, preempt, error).
    await served?.return(undefined);
  }

  async function loop(): Promise<EpochLoopResult> {
    for (let e = start.epoch; e < plan.epochs && !tracking.stoppedEarly; e++) {
      const epoch = e + 1;
      const first = e === start.epoch ? start.nextBatch : 0;
      const batches = batchesInEpoch(plan, e);
      await cfg.beforeEpoch?.(e);
      const order = served ? undefined : epochOrder(cfg.train.count, cfg.seed, e);
      const resumedTotals = first > 0 ? start.epochTotals : undefined;
      const sums = resumedTotals ? [...resumedTotals.sums] : new Array<number>(cfg.metricNames.length).fill(0);
      let seen = resumedTotals?.seen ?? 0;
      let step = e * perEpoch + first - 1;
      for (let b = first; b < batches; b++) {
        if (cfg.hooks.shouldStop()) return { status: 'cancelled' };
        if (preempted()) {
          if (unsaved > 0) {
            meter.phase('checkpointing', epoch, step);
            const epochTotals = b > 0 ? { sums: [...sums], seen } : undefined;
            await cfg.checkpoint({
              epoch: e,
              step,
              nextBatch: b,
              epochTotals,
              reason: 'preempt',
              metric: metricHere,
              tracking,
            });
          }
          return { status: 'preempted' };
        }
        step = e * perEpoch + b;
        if (cfg.schedule) {
          const rate = scheduledLearningRate(
            cfg.schedule,
            cfg.learningRate(e),
            { step, epochIndex: e },
            plan,
            tracking.plateau?.scale,
          );
          // Compared with the optimizer's own: a two-stage switch brings a fresh optimizer at its stage's rate.
          if (rate !== learningRate || b === first) setLearningRate(cfg.model.optimizer, rate);
          learningRate = rate;
        }
        const indices = order?.subarray(b * cfg.batchSize, (b + 1) * cfg.batchSize);
        // Making the batch (its images and targets on the backend) is part of the step: out of
        // memory there, it fails as the step would, named and for good on the run's first step
        // (a served batch's size is known once made: it is named by training.batchSize).
        const batch = await namingMemoryFailures(
          { pass: 'step', batch: indices?.length ?? cfg.batchSize, firstOfRun: firstOfRun() },
          async () => {
            const { x, labels } = indices
              ? gatherBatch(cfg.train, indices, cfg.imageShape)
              : await nextServed(served!, e, b, cfg.imageShape);
            // A streamed batch may be short: its unreadable images are left out (the data report names them).
            if (x.shape[0] === 0) {
              x.dispose();
              return null;
            }
            try {
              return { x, y: cfg.targets(x, labels) };
            } catch (error) {
              x.dispose();
              throw error;
            }
          },
        );
        if (!batch) {
          unsaved++;
          continue;
        }
        const { x, y } = batch;
        const size = x.shape[0];
        let out: number | number[];
        try {
          // Out of the backend's memory (a wasm trap, TensorFlow's OOM): an error naming the batch size (for good on the run's first step).
          out = await namingMemoryFailures({ pass: 'step', batch: size, firstOfRun: firstOfRun() }, () =>
            cfg.model.trainOnBatch(x, y),
          );
        } finally {
          tf.dispose([x, y]);
        }
        const values = Array.isArray(out) ? out : [out];
        const loss = values[0];
        if (!Number.isFinite(loss)) throw new DivergedError(epoch, step, loss);
        // A clipped loss (categorical cross-entropy) stays finite over NaN weights: look at them too.
        if ((b + 1) % WEIGHT_CHECK_EVERY_STEPS === 0 || b === batches - 1)
          assertFiniteWeights(cfg.model, epoch, step, loss);
        values.forEach((v, i) => (sums[i] += v * size));
        seen += size;
        unsaved++;
        metricHere = undefined;
        if (step % sampleEvery === 0) {
          cfg.hooks.onMetrics([point(BATCH_LOSS_METRIC, step, epoch, loss)]);
        }
        meter.step(epoch, step, size, loss, trained++ === 0);
      }
      const validation = await namingMemoryFailures(
        { pass: 'validation', batch: evaluationBatch(cfg.batchSize), firstOfRun: firstOfRun() },
        () => cfg.validate(),
      );
      const points = cfg.metricNames.map((name, i) => point(name, step, epoch, sums[i] / seen));
      for (const [name, value] of Object.entries(validation)) points.push(point(name, step, epoch, value));
      if (learningRate !== undefined) points.push(point(LEARNING_RATE_METRIC, step, epoch, learningRate));
      cfg.hooks.onMetrics(points);
      const observed = observeValidation(cfg, tracking, validation, { epoch, step });
      tracking = observed.tracking;
      const metricValue = cfg.selection === undefined ? undefined : validation[cfg.selection.metric];
      metricHere = metricValue === undefined ? undefined : { name: cfg.selection!.metric, value: metricValue };
      const final = epoch === plan.epochs || observed.stop;
      if (observed.stop && epoch < plan.epochs) tracking = { ...tracking, stoppedEarly: { epoch, step } };
      // Validation may be long: a preemption that arrived meanwhile is served here, at the boundary.
      const stop = preempted();
      const interval = epoch % cfg.checkpointEveryEpochs === 0;
      last = { epoch, step, sequence: null, validation: metricHere ?? null };
      if (final || interval || observed.newBest || stop) {
        meter.phase('checkpointing', epoch, step);
        const reason = final ? 'final' : interval ? 'interval' : observed.newBest ? 'best' : 'preempt';
        const sequence = await cfg.checkpoint({ epoch, step, nextBatch: 0, reason, metric: metricHere, tracking });
        if (observed.newBest) tracking = { ...tracking, best: { ...tracking.best!, sequence } };
        last = { ...last, sequence };
        unsaved = 0;
      }
      if (stop) return { status: 'preempted' };
    }
    return { status: 'completed', tracking, last };
  }
}

/** The pipeline's batches from (epoch, batch) on; a resume starts at its position without making the batches before it. */
async function* pipelineBatches(pipeline: BatchPipeline, epoch: number, nextBatch: number, epochs: number) {
  if (epoch >= epochs) return;
  yield* pipeline.batches(epoch, epochs, nextBatch);
}

async function nextServed(
  served: AsyncGenerator<{ x: Float32Array; y: Int32Array; count: number; epoch: number; step: number }>,
  epoch: number,
  step: number,
  imageShape: [number, number, number],
): Promise<{ x: tf.Tensor4D; labels: Int32Array }> {
  const next = await served.next();
  if (next.done || next.value.epoch !== epoch || next.value.step !== step) {
    // The pipeline and the loop count steps the same way; a mismatch would silently break resume exactness.
    throw new Error(
      `The batch pipeline served ${next.done ? 'nothing' : `epoch ${next.value.epoch} step ${next.value.step}`} where epoch ${epoch} step ${step} was due`,
    );
  }
  return { x: tf.tensor4d(next.value.x, [next.value.count, ...imageShape]), labels: next.value.y };
}

/** How often (and at every epoch's end) the trainable weights are checked for NaN or ±Infinity. */
const WEIGHT_CHECK_EVERY_STEPS = 20;

/**
 * One sum over all trainable weights, read back as one number: any NaN or ±Infinity weight makes
 * it non-finite. A few kernel launches and one small download per check, cheap beside a batch.
 */
function assertFiniteWeights(model: tf.LayersModel, epoch: number, step: number, loss: number): void {
  const weights = model.trainableWeights;
  if (weights.length === 0) return;
  const total = tf.tidy(() => tf.addN(weights.map((w) => tf.sum(w.read()))).dataSync()[0]!);
  if (!Number.isFinite(total)) throw new DivergedError(epoch, step, loss, 'non-finite weights');
}

function point(name: string, step: number, epoch: number, value: number): TrainingMetricPoint {
  return { name, step, epoch, value, wallTime: new Date().toISOString() };
}
