import * as tf from '@tensorflow/tfjs';
import type { PretrainSpec, ReconstructionReport } from '@trainyard/contracts';
import { type LoadedDataset, splitValidation } from '@trainyard/datasets';
import { filesToModelArtifacts } from '@trainyard/storage';
import { buildConvAutoencoder } from './conv-autoencoder.model';
import { runEpochLoop } from './epoch-loop';
import { evaluateLoss, evaluateReconstruction } from './evaluate';
import { restoreTrainingState } from './model-files';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { createOptimizer } from './optimizer';
import type { TrainingHooks, TrainingLoopOutcome } from './training-hooks';
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
    throw new InvalidTrainingInputError(`${what} expects images ${expected.join('x')} but the dataset has ${data.imageShape.join('x')}`);
  }
}

/**
 * Unsupervised pretraining of a conv autoencoder on the dataset's training pool (MSE), with a
 * seeded validation holdout; checkpoints hold 'autoencoder' (with optimizer state) and 'encoder'.
 * A resume rebuilds the same layers from the spec and loads the checkpoint into them, which keeps
 * the encoder sharing the autoencoder's weights. Returns the test MSE.
 */
export async function runPretrain(
  data: LoadedDataset,
  spec: PretrainSpec,
  hooks: TrainingHooks,
  { resume, ...opts }: LoopOptions = {},
): Promise<TrainingLoopOutcome<ReconstructionReport>> {
  assertImageShape(data, spec.model.inputShape, 'model.inputShape');
  const { autoencoder, encoder } = buildConvAutoencoder(spec.model, spec.training.seed);
  autoencoder.compile({ optimizer: createOptimizer(spec.training), loss: 'meanSquaredError' });
  const pixels = data.imageShape[0] * data.imageShape[1] * data.imageShape[2];
  const { train, validation } = splitValidation(data.train, {
    fraction: spec.training.validationSplit,
    seed: spec.training.seed,
    stratified: false,
    pixelsPerImage: pixels,
  });
  try {
    if (resume) await restoreTrainingState(autoencoder, filesToModelArtifacts('autoencoder', resume.files));
    const status = await runEpochLoop({
      model: autoencoder,
      metricNames: ['loss'],
      train,
      imageShape: data.imageShape,
      epochs: spec.training.epochs,
      batchSize: spec.training.batchSize,
      seed: spec.training.seed,
      targets: identity,
      validate: async (): Promise<Record<string, number>> => {
        const [valLoss] = await evaluateLoss(autoencoder, validation, data.imageShape, identity);
        return valLoss === undefined ? {} : { val_loss: valLoss };
      },
      checkpointMetric: 'val_loss',
      checkpointEveryEpochs: spec.checkpoint.everyEpochs,
      checkpoint: (at) => writeCheckpoint(hooks, spec, { autoencoder, encoder }, at),
      hooks,
      start: resume,
      ...opts,
    });
    if (status !== 'completed') return { status };
    // The final checkpoint is stored: a preempted attempt's successor only has to evaluate.
    if (hooks.shouldPreempt?.()) return { status: 'preempted' };
    return { status: 'completed', result: await evaluateReconstruction(autoencoder, data.test, data.imageShape) };
  } finally {
    autoencoder.optimizer?.dispose();
    autoencoder.dispose();
  }
}
