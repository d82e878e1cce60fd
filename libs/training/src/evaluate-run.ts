import * as tf from '@tensorflow/tfjs';
import {
  type DataReport,
  type DatasetSpec,
  type EvaluateSpec,
  type EvaluationReport,
  type FinetuneSpec,
  type RunProgress,
  type RunSpec,
  type TrainingSpec,
} from '@trainyard/contracts';
import { type ImageSplit, splitValidation } from '@trainyard/datasets';
import { type CheckpointStore, filesToModelArtifacts } from '@trainyard/storage';
import { sliceBatch } from './batches';
import { classificationReport, topKAccuracy } from './classification-metrics';
import { classDifference } from './class-names';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { loadModelFromArtifacts } from './model-files';
import { assertImageShape } from './pretrain';
import { loadRunData, type RunData, type RunDataContext } from './run-data';
import { namingMemoryFailures } from './memory-failure';
import { parseStoredSpec, warnEscaped } from './stored-spec';
import { TRAINING_STATE_FILE } from './training-state';
import type { TrainingEvent, TrainingJobInput } from './training-job.types';

export interface EvaluationInput extends RunDataContext {
  /** The COMPLETE checkpoint evaluated (pinned at submit) and its sequence. */
  checkpointUri: string;
  sequence: number;
  /** What the evaluated run's row recorded of its data (the worker reads it from PostgreSQL). */
  trainedOn?: TrainingJobInput['baseCheckpointTrainedOn'];
}

/**
 * The evaluated run's spec (its seed, dataset and split: a checkpoint written before key splits
 * holds a position split, parseStoredSpec) and classes, from its checkpoint's state.json.
 */
function evaluatedState(files: Record<string, Buffer>, uri: string) {
  const raw = files[TRAINING_STATE_FILE];
  const notFinetune = () =>
    new InvalidTrainingInputError(
      `Checkpoint ${uri} is not a fine-tune checkpoint (its ${TRAINING_STATE_FILE} holds no fine-tune spec)`,
    );
  if (!raw) throw notFinetune();
  let trained: RunSpec;
  let classNames: unknown;
  try {
    const state = JSON.parse(raw.toString('utf8')) as { spec?: unknown; classNames?: unknown };
    // A checkpoint written by an earlier release may break rules added since: it is evaluated as it was trained.
    trained = parseStoredSpec(state.spec, warnEscaped(`the spec in checkpoint ${uri}`));
    classNames = state.classNames;
  } catch {
    throw notFinetune();
  }
  if (trained.kind !== 'finetune') throw notFinetune();
  const named = Array.isArray(classNames) && classNames.every((name) => typeof name === 'string');
  return { trained, classNames: named ? (classNames as string[]) : undefined };
}

/** The split settings of an image-folder dataset that decide which images it holds out. */
const SPLIT_SETTINGS = ['assign', 'seed', 'validation', 'test'] as const;

/** The trained run's image folder when the evaluation reads that same folder (null otherwise). */
function sameFolder(dataset: DatasetSpec, trained: FinetuneSpec) {
  const ran = trained.dataset;
  if (dataset.name !== 'image-folder' || ran.name !== 'image-folder' || dataset.datasetId !== ran.datasetId)
    return null;
  return { evaluated: dataset, ran };
}

/**
 * An evaluation of the folder the run trained on scores on what that run held out only with the
 * run's own split: another seed, share or assignment would hold out images it trained on, and so
 * would a position split of the images listed in another order (a packed version's, the folder's).
 */
function assertSameSplit(dataset: DatasetSpec, trained: FinetuneSpec, runId: string): void {
  const same = sameFolder(dataset, trained);
  if (!same) return;
  const { evaluated, ran } = same;
  const differ = SPLIT_SETTINGS.filter((key) => evaluated.split[key] !== ran.split[key]).map(
    (key) =>
      `dataset.split.${key} ${JSON.stringify(evaluated.split[key])} (the run's: ${JSON.stringify(ran.split[key])})`,
  );
  const version = (d: typeof ran) => d.stream?.version ?? 'none';
  if (ran.split.assign === 'position' && version(evaluated) !== version(ran))
    differ.push(`dataset.stream.version ${version(evaluated)} (the run's: ${version(ran)})`);
  if (differ.length > 0)
    throw new InvalidTrainingInputError(
      `Dataset ${ran.datasetId} is the one run ${runId} trained on, but ${differ.join(', ')} would hold out images the run trained on: leave dataset out to evaluate on the run's own split`,
    );
}

/**
 * A position split (runs recorded before key splits) holds out the run's images only of the folder
 * as the run listed it: a folder that gained or lost images since is split otherwise. What the
 * run's data report counted is compared (a packed version is content-addressed: it cannot change).
 */
function assertSameListing(
  dataset: DatasetSpec,
  trained: FinetuneSpec,
  runId: string,
  trainedOn: EvaluationInput['trainedOn'],
  report: DataReport | undefined,
): void {
  const same = sameFolder(dataset, trained);
  const then = trainedOn?.files;
  if (!same || same.ran.split.assign !== 'position' || same.ran.stream || !report || !then) return;
  if (then.found === report.files && then.skipped === report.skippedCount) return;
  throw new InvalidTrainingInputError(
    `Run ${runId} split dataset ${same.ran.datasetId} by position (dataset.split.assign 'position': it was recorded before key splits) when the folder held ${then.found} image files (${then.skipped} unreadable); it holds ${report.files} (${report.skippedCount} unreadable) now, and a position split of another listing holds out images the run trained on: evaluate a run trained since, whose split is by key`,
  );
}

/**
 * The classes the classifier's outputs stand for must be the dataset's, name for name and in
 * order: a folder whose classes sort otherwise (renamed, or sorted by another rule) would score
 * every image against another class's output. The checkpoint names them (written since it did),
 * else the evaluated run's result; where neither does, only their number is checked.
 */
function assertSameClasses(trained: string[] | null | undefined, data: RunData, runId: string, dataset: DatasetSpec) {
  const differ = trained && classDifference(trained, data.classNames);
  if (!differ) return;
  throw new InvalidTrainingInputError(
    `The classifier of run ${runId} was trained on ${trained.length} classes, ${datasetName(dataset)} has ${data.classNames.length}, and they differ first at output ${differ.output}: ${differ.trained} for the run, ${differ.dataset} in the dataset; evaluate on a dataset with the run's classes, in its order`,
  );
}

function datasetName(dataset: DatasetSpec): string {
  return dataset.name === 'image-folder' ? `dataset ${dataset.datasetId}` : `dataset ${dataset.name}`;
}

/** The split asked for. Built-in datasets carve validation from train as the evaluated run did (its seed and fraction). */
function pickSplit(data: RunData, split: EvaluateSpec['split'], training: TrainingSpec): ImageSplit {
  if (split === 'test') return data.test;
  const pixels = data.imageShape[0] * data.imageShape[1] * data.imageShape[2];
  const parts = data.validation
    ? { train: data.train, validation: data.validation }
    : splitValidation(data.train, {
        fraction: training.validationSplit,
        seed: training.seed,
        stratified: true,
        pixelsPerImage: pixels,
      });
  return parts[split];
}

/**
 * An EVALUATE run: a fine-tune checkpoint's classifier predicts every image of a dataset split →
 * accuracy, top-k, per-class precision/recall/F1, macro and weighted averages, confusion matrix.
 * Nothing is written but the result; a crashed or preempted evaluation simply runs again.
 */
export async function runEvaluation(
  spec: EvaluateSpec,
  input: EvaluationInput,
  checkpoints: CheckpointStore,
  post: (event: TrainingEvent) => void,
  shouldStop: () => boolean,
): Promise<EvaluationReport | 'cancelled'> {
  const { files } = await checkpoints.read(input.checkpointUri);
  if (!files['classifier/model.json']) {
    throw new InvalidTrainingInputError(
      `Checkpoint ${input.checkpointUri} of run ${spec.checkpoint.runId} holds no classifier to evaluate`,
    );
  }
  const { trained, classNames } = evaluatedState(files, input.checkpointUri);
  const dataset = spec.dataset ?? trained.dataset;
  const runId = spec.checkpoint.runId;
  assertSameSplit(dataset, trained, runId);
  const { data, report } = await loadRunData(dataset, input, {
    seed: trained.training.seed,
    labeled: true,
    // A folder refused for unreadable classes still reports what it skipped, and why.
    onReport: (refused) => post({ type: 'data-report', report: refused }),
  });
  if (report) post({ type: 'data-report', report });
  assertSameListing(dataset, trained, runId, input.trainedOn, report);
  assertSameClasses(classNames ?? input.trainedOn?.classNames, data, runId, dataset);
  const model = await loadModelFromArtifacts({
    ...filesToModelArtifacts('classifier', files),
    trainingConfig: undefined,
  });
  try {
    assertImageShape(data, model.inputs[0].shape.slice(1) as number[], `The classifier of run ${runId}`);
    const numClasses = data.classNames.length;
    const outputs = model.outputs[0].shape[1];
    if (outputs !== numClasses) {
      throw new InvalidTrainingInputError(
        `The classifier of run ${runId} predicts ${outputs} classes; ${datasetName(dataset)} has ${numClasses}`,
      );
    }
    const split = pickSplit(data, spec.split, trained.training);
    if (split.count === 0)
      throw new InvalidTrainingInputError(`The ${spec.split} split of dataset ${dataset.name} is empty`);
    const steps = Math.ceil(split.count / spec.batchSize);
    const progress = (step: number): RunProgress => ({
      phase: 'evaluating',
      epoch: 1,
      epochs: 1,
      step,
      stepsPerEpoch: steps,
      updatedAt: new Date().toISOString(),
    });
    const scores = await predictedScores(model, split, data.imageShape, spec.batchSize, numClasses, {
      shouldStop,
      predicted: (step) => post({ type: 'progress', progress: progress(step) }),
    });
    if (scores === 'cancelled') return 'cancelled';
    const predicted = new Int32Array(split.count);
    for (let i = 0; i < split.count; i++) {
      let best = 0;
      for (let c = 1; c < numClasses; c++) if (scores[i * numClasses + c] > scores[i * numClasses + best]) best = c;
      predicted[i] = best;
    }
    const k = Math.min(spec.topK, numClasses);
    return {
      kind: 'evaluation',
      ...classificationReport(split.labels, predicted, data.classNames, spec.split),
      checkpoint: { runId: spec.checkpoint.runId, sequence: input.sequence },
      topK: { k, accuracy: topKAccuracy(scores, split.labels, numClasses, k) },
    };
  } finally {
    model.dispose();
  }
}

/**
 * The classifier's scores for every image of `split` (numClasses a row), predicted in batches of
 * `batchSize`; 'cancelled' when `shouldStop` says so between batches. Making a batch (its images on
 * the backend) is part of its prediction: out of the backend's memory in either, an error naming
 * batchSize, for good (a retry would make the same batch), the batch freed.
 */
export async function predictedScores(
  model: tf.LayersModel,
  split: ImageSplit,
  imageShape: readonly [number, number, number],
  batchSize: number,
  numClasses: number,
  { shouldStop, predicted }: { shouldStop: () => boolean; predicted: (step: number) => void },
): Promise<Float32Array | 'cancelled'> {
  const scores = new Float32Array(split.count * numClasses);
  for (let step = 0, start = 0; start < split.count; step++, start += batchSize) {
    if (shouldStop()) return 'cancelled';
    const end = Math.min(start + batchSize, split.count);
    const probabilities = await namingMemoryFailures(
      { pass: 'evaluation', batch: batchSize, firstOfRun: true },
      async () => {
        const { x } = sliceBatch(split, start, end, imageShape);
        try {
          return model.predict(x) as tf.Tensor;
        } finally {
          x.dispose();
        }
      },
    );
    scores.set(await probabilities.data(), start * numClasses);
    probabilities.dispose();
    predicted(step);
  }
  return scores;
}
