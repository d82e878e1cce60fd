import * as tf from '@tensorflow/tfjs';
import {
  builtInHead,
  classifierBase,
  effectiveFreezing,
  type FinetuneResult,
  type FinetuneSpec,
  inferTopology,
  MAX_MODEL_PARAMETERS,
  metricGoal,
  parameterQuotaText,
  scratchFeatures,
  selectionMetric,
  type SpecTopology,
  topologyInputShape,
  topologySizes,
  type TransferReport,
} from '@trainyard/contracts';
import { createBatchPipeline, isIdentityAugmentation, splitValidation, type BatchPipeline } from '@trainyard/datasets';
import { filesToModelArtifacts } from '@trainyard/storage';
import { defaultCutLayer } from './base-model';
import { testBestAndLast } from './checkpoint-selection';
import { classDifference } from './class-names';
import { buildClassifier, calibrateHeadNorm } from './classifier.model';
import { runEpochLoop } from './epoch-loop';
import { evaluateClassifier, evaluateLoss, evaluationBatch } from './evaluate';
import { applyFreezing, type FreezeStage, stageAt, stageLearningRate } from './freezing';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { buildLayersBase, buildLayersHead } from './layers.model';
import { loadModelFromArtifacts, restoreTrainingState } from './model-files';
import { createOptimizer } from './optimizer';
import { assertImageShape, type LoopOptions } from './pretrain';
import type { RunData } from './run-data';
import type { TrainingHooks, TrainingLoopOutcome } from './training-hooks';
import { planTraining, type TrainingPlan } from './training-plan';
import { type ResumeFrom, writeCheckpoint } from './training-state';

/**
 * Supervised fine-tuning: the base (a pretrained encoder, an imported or registered model cut at a
 * layer, or a fresh encoder) plus a softmax head, categorical cross-entropy, a stratified
 * validation holdout (an image folder's own, or carved from train); checkpoints hold 'classifier'
 * (with optimizer state). A resume restores that classifier (its topology includes the base's
 * layers, so the base is not needed; `encoder` is then ignored), in the freezing stage of its
 * position. With augmentation, batches come from the batch pipeline's thread, in the same order.
 * Returns the test split's classification report of the best weights (by val_accuracy, or
 * `training.earlyStopping.metric`), the last weights' beside it, and what the base was. A fresh
 * head may hold at most `modelParameterQuota` parameters (QUOTA_MODEL_PARAMETERS; MAX_MODEL_PARAMETERS
 * when not given).
 */
export async function runFinetune(
  data: RunData,
  spec: FinetuneSpec,
  encoder: tf.LayersModel | null,
  hooks: TrainingHooks,
  {
    resume,
    baseCheckpoint,
    modelParameterQuota = MAX_MODEL_PARAMETERS,
    ...opts
  }: LoopOptions & { baseCheckpoint?: TransferReport['checkpoint']; modelParameterQuota?: number } = {},
): Promise<TrainingLoopOutcome<FinetuneResult>> {
  const saved = resume ? filesToModelArtifacts('classifier', resume.files) : undefined;
  const classifier = saved
    ? // Without its trainingConfig, so that loading does not compile it with an optimizer of its own.
      await loadModelFromArtifacts({ ...saved, trainingConfig: undefined })
    : await newClassifier(spec, encoder, data, modelParameterQuota);
  if (saved) {
    assertImageShape(data, classifier.inputs[0].shape.slice(1) as number[], 'The base model');
    assertResumedClasses(resume!, classifier, data.classNames);
  }
  const freezing = effectiveFreezing(spec.model);
  let stage = stageAt(freezing, resume);
  const compile = (s: FreezeStage) => {
    applyFreezing(classifier, freezing, s);
    const previous = classifier.optimizer;
    const learningRate = stageLearningRate(freezing, spec.training, s);
    classifier.compile({
      optimizer: createOptimizer({ ...spec.training, learningRate }),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
    });
    previous?.dispose();
  };
  compile(stage);
  if (saved) await restoreTrainingState(classifier, saved);
  const numClasses = data.classNames.length;
  const oneHot = (_x: tf.Tensor4D, labels: Int32Array) => tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses).toFloat();
  const pixels = data.imageShape[0] * data.imageShape[1] * data.imageShape[2];
  const { train, validation } = data.validation
    ? { train: data.train, validation: data.validation }
    : splitValidation(data.train, {
        fraction: spec.training.validationSplit,
        seed: spec.training.seed,
        stratified: true,
        pixelsPerImage: pixels,
      });
  // A streamed dataset's `train` is a sample in memory; the stream serves all of its images.
  const plan = planTraining(spec.training, data.stream?.count ?? train.count);
  assertSecondStageStarts(spec, plan);
  const metric = selectionMetric('finetune', spec.training);
  const selection = { metric, goal: metricGoal(metric) };
  const batch = evaluationBatch(spec.training.batchSize);
  const transfer = { ...transferOf(classifier, spec), ...(baseCheckpoint ? { checkpoint: baseCheckpoint } : {}) };
  const augment = spec.augmentation && !isIdentityAugmentation(spec.augmentation);
  let pipeline: BatchPipeline | undefined;
  try {
    pipeline = data.stream
      ? data.stream.open({
          batchSize: spec.training.batchSize,
          augmentation: augment ? spec.augmentation! : null,
          seed: spec.training.seed,
        })
      : augment
        ? createBatchPipeline({
            dataset: { ...train, imageShape: data.imageShape },
            batchSize: spec.training.batchSize,
            augmentation: spec.augmentation,
            seed: spec.training.seed,
          })
        : undefined;
    const loop = await runEpochLoop({
      model: classifier,
      metricNames: ['loss', 'accuracy'],
      train,
      imageShape: data.imageShape,
      plan,
      batchSize: spec.training.batchSize,
      seed: spec.training.seed,
      pipeline,
      beforeEpoch: (e) => {
        // Two-stage: the top base layers join at a lower learning rate, with a fresh optimizer.
        if (freezing.mode === 'two-stage' && stage === 1 && e >= freezing.unfreezeAfterEpochs) compile((stage = 2));
      },
      learningRate: () => stageLearningRate(freezing, spec.training, stage),
      targets: (x, labels) => tf.tidy(() => oneHot(x, labels)),
      validate: async (): Promise<Record<string, number>> => {
        await calibrateHeadNorm(classifier, train, data.imageShape, batch);
        const [valLoss, valAccuracy] = await evaluateLoss(classifier, validation, data.imageShape, oneHot, batch);
        return valLoss === undefined ? {} : { val_loss: valLoss, val_accuracy: valAccuracy };
      },
      selection,
      earlyStopping: spec.training.earlyStopping,
      schedule: spec.training.schedule,
      checkpointEveryEpochs: spec.checkpoint.everyEpochs,
      checkpoint: (at) => writeCheckpoint(hooks, spec, { classifier }, at, data.classNames),
      hooks,
      start: resume,
      ...opts,
    });
    if (loop.status !== 'completed') return loop;
    // The final checkpoint is stored: a preempted attempt's successor only has to evaluate.
    if (hooks.shouldPreempt?.()) return { status: 'preempted' };
    const test = (model: tf.LayersModel) =>
      evaluateClassifier(model, data.test, data.imageShape, data.classNames, batch);
    const tested = await testBestAndLast(loop, selection, hooks, { model: 'classifier', test, batch }, classifier);
    return { status: 'completed', result: { ...tested, transfer } };
  } finally {
    await pipeline?.close();
    classifier.optimizer?.dispose();
    classifier.dispose();
  }
}

/**
 * A fresh classifier: the base (given, the spec's `layers.base`, or the built-in encoder) and its
 * head (the spec's `layers.head`, or the built-in one). The images are held against the base's
 * input, and the head against the limits and `quota`, before either is built: a model built for
 * other images, or past the limits, could be allocated first and crash the process out of memory.
 */
async function newClassifier(
  spec: FinetuneSpec,
  encoder: tf.LayersModel | null,
  data: RunData,
  quota: number,
): Promise<tf.LayersModel> {
  const seed = spec.training.seed;
  const own = spec.model.layers;
  const numClasses = data.classNames.length;
  if (encoder) assertImageShape(data, encoder.inputs[0]!.shape.slice(1) as number[], 'The base model');
  else if (own?.base) assertImageShape(data, topologyInputShape(own.base) ?? [], 'model.layers.base');
  else assertImageShape(data, spec.model.inputShape, 'model.inputShape');
  const base = encoder ?? (own?.base ? await buildLayersBase(own.base, seed) : null);
  if (!own?.head) {
    if (base) assertBuiltInHeadFits(spec, base.outputs[0]!.shape.slice(1) as number[], numClasses, quota);
    return buildClassifier({ encoder: base, spec: spec.model, numClasses, seed });
  }
  // The built-in encoder is built (and cut) by buildClassifier; its features are needed first.
  const features = base ? (base.outputs[0]!.shape.slice(1) as number[]) : scratchFeatures(spec.model)!;
  assertHeadInQuota({ field: 'model.layers.head', topology: own.head, input: features }, 'head', quota);
  const head = await buildLayersHead(own.head, features, numClasses, seed);
  return buildClassifier({ encoder: base, spec: spec.model, numClasses, seed, head });
}

/**
 * Throws InvalidTrainingInputError when the built-in head on a base's `features` does not fit
 * (a layer past MAX_LAYER_OUTPUT_ELEMENTS, more than MAX_MODEL_PARAMETERS, more than `quota`): on
 * a base only this process reads (a run's, a registered or imported model) the API could not size it.
 */
function assertBuiltInHeadFits(spec: FinetuneSpec, features: number[], numClasses: number, quota: number): void {
  const base = classifierBase(spec.model).kind;
  const featuresField = spec.model.layers?.base
    ? 'model.layers.base'
    : base === 'imported'
      ? 'model.importedModel.cutAtLayer'
      : 'model.cutAt';
  const head = builtInHead(spec.model, features, featuresField, numClasses);
  const result = inferTopology(head.topology, head.input);
  if (result.ok) return assertHeadInQuota(head, 'built-in head', quota);
  const index = result.problem.path[2];
  const field = (typeof index === 'number' ? head.layerFields[index] : undefined) ?? featuresField;
  throw new InvalidTrainingInputError(
    `${field}: the built-in head's ${result.problem.message} (it is fed the base's features [${features.join(', ')}])`,
  );
}

/**
 * Throws InvalidTrainingInputError when a head that fits its base's features holds more parameters
 * than `quota` (QUOTA_MODEL_PARAMETERS), naming the spec field that sizes its largest layer, as
 * the API does at submit, which cannot size a head on a base only this process reads. Only the
 * head counts: it is the spec's own topology, while such a base is a run's, a registered or an
 * imported model; imported bases are deliberately not held to the quota (a pretrained CNN brought
 * to fine-tune may well pass it alone). A head that does not fit is left to the checks that name
 * its problem (past the ceiling, its shapes).
 */
function assertHeadInQuota(head: SpecTopology, what: string, quota: number): void {
  const { sizes, parameters } = topologySizes([head]);
  if (sizes.length === 0 || parameters <= quota) return;
  const { largest } = sizes[0]!;
  throw new InvalidTrainingInputError(
    `${largest.field}: The ${what} holds ${parameters.toLocaleString('en')} parameters; ${parameterQuotaText(quota, largest)} (the head is fed the base's features [${head.input!.join(', ')}])`,
  );
}

/** A steps budget spans a number of epochs known only now: two-stage must switch inside it. */
/**
 * A resumed fine-tune must meet the classes its checkpoint was trained on, output by output: the
 * folder is listed again at every attempt, and a class renamed, added or removed meanwhile would
 * train (and test) every image against another class's output, or fail on the labels' shape after
 * every retry. The checkpoint names its classes (since it did); an older one, its output count.
 */
function assertResumedClasses(resume: ResumeFrom, classifier: tf.LayersModel, classNames: string[]): void {
  const checkpoint = resume.sequence === undefined ? 'checkpoint' : `checkpoint ${resume.sequence}`;
  const changed = (trainedOn: number | null | undefined, where = '') =>
    new InvalidTrainingInputError(
      `This run's ${checkpoint} was trained on ${trainedOn} classes and its dataset has ${classNames.length} now${where}: the dataset's classes changed while the run trained (a class folder renamed, added or removed), and resuming would train every image against another class's output. Put the classes back as they were to resume, or submit a new run`,
    );
  if (resume.classNames) {
    const differ = classDifference(resume.classNames, classNames);
    if (differ)
      throw changed(
        resume.classNames.length,
        `, differing first at output ${differ.output}: ${differ.trained} in the checkpoint, ${differ.dataset} in the dataset`,
      );
    return;
  }
  const outputs = classifier.outputs[0]!.shape.at(-1);
  if (outputs !== classNames.length) throw changed(outputs);
}

function assertSecondStageStarts(spec: FinetuneSpec, plan: TrainingPlan): void {
  const freezing = effectiveFreezing(spec.model);
  if (freezing.mode === 'two-stage' && freezing.unfreezeAfterEpochs >= plan.epochs) {
    throw new InvalidTrainingInputError(
      `model.freezing.unfreezeAfterEpochs (${freezing.unfreezeAfterEpochs}) must be below the ${plan.epochs} epochs training.steps (${plan.totalSteps}) covers, or the second stage never starts`,
    );
  }
}

/** Where the classifier's base ends (the layer below its head) and how the head meets it. */
function transferOf(classifier: tf.LayersModel, spec: FinetuneSpec): TransferReport {
  const cutLayer = defaultCutLayer(classifier);
  const features = classifier.getLayer(cutLayer).outputShape as (number | null)[];
  const base = classifierBase(spec.model).kind;
  return {
    base,
    // An imported model is cut at its own layers, whatever they are named.
    cutAt:
      base === 'imported' ? null : cutLayer === 'latent' ? 'latent' : /^enc_pool\d+$/.test(cutLayer) ? 'conv' : null,
    cutLayer,
    features: features.slice(1) as number[],
    // The spec's own head has no built-in normalisation in front of it.
    headNorm: spec.model.layers?.head ? 'none' : spec.model.headNorm,
    ...(spec.model.layers ? { layers: { base: !!spec.model.layers.base, head: !!spec.model.layers.head } } : {}),
  };
}
