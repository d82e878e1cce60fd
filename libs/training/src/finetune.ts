import * as tf from '@tensorflow/tfjs';
import { type ClassificationReport, effectiveFreezing, type FinetuneSpec } from '@trainyard/contracts';
import { createBatchPipeline, isIdentityAugmentation, splitValidation, type BatchPipeline } from '@trainyard/datasets';
import { filesToModelArtifacts } from '@trainyard/storage';
import { buildClassifier } from './classifier.model';
import { runEpochLoop } from './epoch-loop';
import { evaluateClassifier, evaluateLoss } from './evaluate';
import { applyFreezing, type FreezeStage, stageAt, stageLearningRate } from './freezing';
import { loadModelFromArtifacts, restoreTrainingState } from './model-files';
import { createOptimizer } from './optimizer';
import { assertImageShape, type LoopOptions } from './pretrain';
import type { RunData } from './run-data';
import type { TrainingHooks, TrainingLoopOutcome } from './training-hooks';
import { writeCheckpoint } from './training-state';

/**
 * Supervised fine-tuning: the base (a pretrained encoder, an imported or registered model cut at a
 * layer, or a fresh encoder) plus a softmax head, categorical cross-entropy, a stratified
 * validation holdout (an image folder's own, or carved from train); checkpoints hold 'classifier'
 * (with optimizer state). A resume restores that classifier (its topology includes the base's
 * layers, so the base is not needed; `encoder` is then ignored), in the freezing stage of its
 * position. With augmentation, batches come from the batch pipeline's thread, in the same order.
 * Returns the test split's classification report.
 */
export async function runFinetune(
  data: RunData,
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
  assertImageShape(data, classifier.inputs[0].shape.slice(1) as number[], 'The base model');
  const freezing = effectiveFreezing(spec.model);
  let stage = stageAt(freezing, resume);
  const compile = (s: FreezeStage) => {
    applyFreezing(classifier, freezing, s);
    const previous = classifier.optimizer;
    const learningRate = stageLearningRate(freezing, spec.training, s);
    classifier.compile({ optimizer: createOptimizer({ ...spec.training, learningRate }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    previous?.dispose();
  };
  compile(stage);
  if (saved) await restoreTrainingState(classifier, saved);
  const numClasses = data.classNames.length;
  const oneHot = (_x: tf.Tensor4D, labels: Int32Array) => tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses).toFloat();
  const pixels = data.imageShape[0] * data.imageShape[1] * data.imageShape[2];
  const { train, validation } = data.validation
    ? { train: data.train, validation: data.validation }
    : splitValidation(data.train, { fraction: spec.training.validationSplit, seed: spec.training.seed, stratified: true, pixelsPerImage: pixels });
  const augment = spec.augmentation && !isIdentityAugmentation(spec.augmentation);
  let pipeline: BatchPipeline | undefined;
  try {
    pipeline = augment
      ? createBatchPipeline({ dataset: { ...train, imageShape: data.imageShape }, batchSize: spec.training.batchSize, augmentation: spec.augmentation, seed: spec.training.seed })
      : undefined;
    const status = await runEpochLoop({
      model: classifier,
      metricNames: ['loss', 'accuracy'],
      train,
      imageShape: data.imageShape,
      epochs: spec.training.epochs,
      batchSize: spec.training.batchSize,
      seed: spec.training.seed,
      pipeline,
      beforeEpoch: (e) => {
        // Two-stage: the top base layers join at a lower learning rate, with a fresh optimizer.
        if (freezing.mode === 'two-stage' && stage === 1 && e >= freezing.unfreezeAfterEpochs) compile((stage = 2));
      },
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
    await pipeline?.close();
    classifier.optimizer?.dispose();
    classifier.dispose();
  }
}
