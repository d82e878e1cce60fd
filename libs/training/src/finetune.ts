import * as tf from '@tensorflow/tfjs';
import type { ClassificationReport, FinetuneSpec } from '@trainyard/contracts';
import { type LoadedDataset, splitValidation } from '@trainyard/datasets';
import { filesToModelArtifacts } from '@trainyard/storage';
import { buildClassifier } from './classifier.model';
import { runEpochLoop } from './epoch-loop';
import { evaluateClassifier, evaluateLoss } from './evaluate';
import { loadModelFromArtifacts, restoreTrainingState } from './model-files';
import { createOptimizer } from './optimizer';
import { assertImageShape, type LoopOptions } from './pretrain';
import type { TrainingHooks, TrainingLoopOutcome } from './training-hooks';
import { writeCheckpoint } from './training-state';

/**
 * Supervised fine-tuning: the base encoder (or a fresh one) plus a softmax head, categorical
 * cross-entropy, a stratified validation holdout; checkpoints hold 'classifier' (with optimizer
 * state). A resume restores that classifier (its topology includes the base encoder's layers, so
 * the base is not needed; `encoder` is then ignored). Returns the test split's classification report.
 */
export async function runFinetune(
  data: LoadedDataset,
  spec: FinetuneSpec,
  encoder: tf.LayersModel | null,
  hooks: TrainingHooks,
  { resume, ...opts }: LoopOptions = {},
): Promise<TrainingLoopOutcome<ClassificationReport>> {
  const saved = resume ? filesToModelArtifacts('classifier', resume.files) : undefined;
  const classifier = saved
    ? // Without its trainingConfig, so that loading does not compile it with an optimizer of its own.
      await loadModelFromArtifacts({ ...saved, trainingConfig: undefined })
    : buildClassifier({ encoder, spec: spec.model, numClasses: data.classNames.length, seed: spec.training.seed });
  assertImageShape(data, classifier.inputs[0].shape.slice(1) as number[], 'The encoder');
  classifier.compile({ optimizer: createOptimizer(spec.training), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  if (saved) await restoreTrainingState(classifier, saved);
  const numClasses = data.classNames.length;
  const oneHot = (_x: tf.Tensor4D, labels: Int32Array) => tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses).toFloat();
  const pixels = data.imageShape[0] * data.imageShape[1] * data.imageShape[2];
  const { train, validation } = splitValidation(data.train, {
    fraction: spec.training.validationSplit,
    seed: spec.training.seed,
    stratified: true,
    pixelsPerImage: pixels,
  });
  try {
    const status = await runEpochLoop({
      model: classifier,
      metricNames: ['loss', 'accuracy'],
      train,
      imageShape: data.imageShape,
      epochs: spec.training.epochs,
      batchSize: spec.training.batchSize,
      seed: spec.training.seed,
      targets: (x, labels) => tf.tidy(() => oneHot(x, labels)),
      validate: async (): Promise<Record<string, number>> => {
        const [valLoss, valAccuracy] = await evaluateLoss(classifier, validation, data.imageShape, oneHot);
        return valLoss === undefined ? {} : { val_loss: valLoss, val_accuracy: valAccuracy };
      },
      checkpointMetric: 'val_accuracy',
      checkpointEveryEpochs: spec.checkpoint.everyEpochs,
      checkpoint: (at) => writeCheckpoint(hooks, spec, { classifier }, at),
      hooks,
      start: resume,
      ...opts,
    });
    if (status !== 'completed') return { status };
    // The final checkpoint is stored: a preempted attempt's successor only has to evaluate.
    if (hooks.shouldPreempt?.()) return { status: 'preempted' };
    return {
      status: 'completed',
      result: await evaluateClassifier(classifier, data.test, data.imageShape, data.classNames),
    };
  } finally {
    classifier.optimizer?.dispose();
    classifier.dispose();
  }
}
