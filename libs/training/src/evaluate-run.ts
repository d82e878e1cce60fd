import * as tf from '@tensorflow/tfjs';
import {
  type EvaluateSpec,
  type EvaluationReport,
  type RunProgress,
  type RunSpec,
  type TrainingSpec,
} from '@trainyard/contracts';
import { type ImageSplit, splitValidation } from '@trainyard/datasets';
import { type CheckpointStore, filesToModelArtifacts } from '@trainyard/storage';
import { sliceBatch } from './batches';
import { classificationReport, topKAccuracy } from './classification-metrics';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { loadModelFromArtifacts } from './model-files';
import { assertImageShape } from './pretrain';
import { loadRunData, type RunData, type RunDataContext } from './run-data';
import { namingMemoryFailures } from './memory-failure';
import { parseStoredSpec, warnEscaped } from './stored-spec';
import { TRAINING_STATE_FILE } from './training-state';
import type { TrainingEvent } from './training-job.types';

export interface EvaluationInput extends RunDataContext {
  /** The COMPLETE checkpoint evaluated (pinned at submit) and its sequence. */
  checkpointUri: string;
  sequence: number;
}

/** The training settings of the evaluated run, from its checkpoint's state.json: its seed and validation split. */
function evaluatedSpec(files: Record<string, Buffer>, uri: string) {
  const raw = files[TRAINING_STATE_FILE];
  const notFinetune = () =>
    new InvalidTrainingInputError(
      `Checkpoint ${uri} is not a fine-tune checkpoint (its ${TRAINING_STATE_FILE} holds no fine-tune spec)`,
    );
  if (!raw) throw notFinetune();
  let trained: RunSpec;
  try {
    const stored = (JSON.parse(raw.toString('utf8')) as { spec?: unknown }).spec;
    // A checkpoint written by an earlier release may break rules added since: it is evaluated as it was trained.
    trained = parseStoredSpec(stored, warnEscaped(`the spec in checkpoint ${uri}`));
  } catch {
    throw notFinetune();
  }
  if (trained.kind !== 'finetune') throw notFinetune();
  return trained;
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
  const trained = evaluatedSpec(files, input.checkpointUri);
  const dataset = spec.dataset ?? trained.dataset;
  const { data, report } = await loadRunData(dataset, input, {
    seed: trained.training.seed,
    labeled: true,
    // A folder refused for unreadable classes still reports what it skipped, and why.
    onReport: (refused) => post({ type: 'data-report', report: refused }),
  });
  if (report) post({ type: 'data-report', report });
  const model = await loadModelFromArtifacts({
    ...filesToModelArtifacts('classifier', files),
    trainingConfig: undefined,
  });
  try {
    assertImageShape(
      data,
      model.inputs[0].shape.slice(1) as number[],
      `The classifier of run ${spec.checkpoint.runId}`,
    );
    const numClasses = data.classNames.length;
    const outputs = model.outputs[0].shape[1];
    if (outputs !== numClasses) {
      throw new InvalidTrainingInputError(
        `The classifier of run ${spec.checkpoint.runId} predicts ${outputs} classes; dataset ${dataset.name} has ${numClasses}`,
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
    const scores = new Float32Array(split.count * numClasses);
    for (let step = 0; step < steps; step++) {
      if (shouldStop()) return 'cancelled';
      const start = step * spec.batchSize;
      const end = Math.min(start + spec.batchSize, split.count);
      const { x } = sliceBatch(split, start, end, data.imageShape);
      // Out of the backend's memory: an error naming batchSize, for good (a retry would use the same batch).
      const probabilities = await namingMemoryFailures(
        { pass: 'evaluation', batch: spec.batchSize, firstOfRun: true },
        async () => model.predict(x) as tf.Tensor,
      ).catch((error: unknown) => {
        tf.dispose(x);
        throw error;
      });
      scores.set(await probabilities.data(), start * numClasses);
      tf.dispose([x, probabilities]);
      post({ type: 'progress', progress: progress(step) });
    }
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
