import * as tf from '@tensorflow/tfjs';
import {
  autoencoderInputShape,
  metricGoal,
  type PretrainResult,
  type PretrainSpec,
  selectionMetric,
} from '@trainyard/contracts';
import { type LoadedDataset, splitValidation } from '@trainyard/datasets';
import { filesToModelArtifacts } from '@trainyard/storage';
import { testBestAndLast } from './checkpoint-selection';
import { buildConvAutoencoder } from './conv-autoencoder.model';
import { runEpochLoop } from './epoch-loop';
import { buildLayersAutoencoder } from './layers.model';
import { evaluateLoss, evaluateReconstruction, evaluationBatch } from './evaluate';
import { restoreTrainingState } from './model-files';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { createOptimizer } from './optimizer';
import type { TrainingHooks, TrainingLoopOutcome } from './training-hooks';
import { planTraining } from './training-plan';
import { type ResumeFrom, writeCheckpoint } from './training-state';

export interface LoopOptions {
  sampleEverySteps?: number;
  progressIntervalMs?: number;
  /** Continue from this checkpoint (weights, optimizer state, position) instead of from scratch. */
  resume?: ResumeFrom;
}

const identity = (x: tf.Tensor4D) => x.clone();

/** Checks that the data fits the model before any training starts. */
export function assertImageShape(data: LoadedDataset, expected: readonly number[], what: string): void {
  if (data.imageShape.join('x') !== expected.join('x')) {
    throw new InvalidTrainingInputError(
      `${what} expects images ${expected.join('x')} but the dataset has ${data.imageShape.join('x')}`,
    );
  }
}

/**
 * Unsupervised pretraining of a conv autoencoder on the dataset's training pool (`model.loss`:
 * MSE or binary cross-entropy), with a seeded validation holdout (val_loss, and val_mse whatever
 * the loss); checkpoints hold 'autoencoder' (with optimizer state) and 'encoder'. A resume
 * rebuilds the same layers from the spec and loads the checkpoint into them, which keeps the
 * encoder sharing the autoencoder's weights. Returns the test MSE of the best weights (by
 * val_loss, or `training.earlyStopping.metric`), with the last weights' beside it.
 */
export async function runPretrain(
  data: LoadedDataset,
  spec: PretrainSpec,
  hooks: TrainingHooks,
  { resume, ...opts }: LoopOptions = {},
): Promise<TrainingLoopOutcome<PretrainResult>> {
  assertImageShape(data, autoencoderInputShape(spec.model), 'model.inputShape');
  const { autoencoder, encoder } =
    spec.model.type === 'layers-autoencoder'
      ? await buildLayersAutoencoder(spec.model, spec.training.seed)
      : buildConvAutoencoder(spec.model, spec.training.seed);
  const mse = spec.model.loss === 'mse';
  autoencoder.compile({
    optimizer: createOptimizer(spec.training),
    loss: mse ? 'meanSquaredError' : 'binaryCrossentropy',
  });
  const pixels = data.imageShape[0] * data.imageShape[1] * data.imageShape[2];
  const { train, validation } = splitValidation(data.train, {
    fraction: spec.training.validationSplit,
    seed: spec.training.seed,
    stratified: false,
    pixelsPerImage: pixels,
  });
  const metric = selectionMetric('pretrain', spec.training);
  const selection = { metric, goal: metricGoal(metric) };
  const batch = evaluationBatch(spec.training.batchSize);
  try {
    if (resume) await restoreTrainingState(autoencoder, filesToModelArtifacts('autoencoder', resume.files));
    const loop = await runEpochLoop({
      model: autoencoder,
      metricNames: ['loss'],
      train,
      imageShape: data.imageShape,
      plan: planTraining(spec.training, train.count),
      batchSize: spec.training.batchSize,
      seed: spec.training.seed,
      learningRate: () => spec.training.learningRate,
      targets: identity,
      validate: async (): Promise<Record<string, number>> => {
        const [valLoss] = await evaluateLoss(autoencoder, validation, data.imageShape, identity, batch);
        if (valLoss === undefined) return {};
        const valMse = mse
          ? valLoss
          : (await evaluateReconstruction(autoencoder, validation, data.imageShape, batch)).mse;
        return { val_loss: valLoss, val_mse: valMse };
      },
      selection,
      earlyStopping: spec.training.earlyStopping,
      schedule: spec.training.schedule,
      checkpointEveryEpochs: spec.checkpoint.everyEpochs,
      checkpoint: (at) => writeCheckpoint(hooks, spec, { autoencoder, encoder }, at),
      hooks,
      start: resume,
      ...opts,
    });
    if (loop.status !== 'completed') return loop;
    // The final checkpoint is stored: a preempted attempt's successor only has to evaluate.
    if (hooks.shouldPreempt?.()) return { status: 'preempted' };
    const test = (model: tf.LayersModel) => evaluateReconstruction(model, data.test, data.imageShape, batch);
    return {
      status: 'completed',
      result: await testBestAndLast(loop, selection, hooks, { model: 'autoencoder', test, batch }, autoencoder),
    };
  } finally {
    autoencoder.optimizer?.dispose();
    autoencoder.dispose();
  }
}
