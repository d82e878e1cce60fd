import * as tf from '@tensorflow/tfjs';
import {
  classifierBase,
  type FinetuneSpec,
  type RunProgress,
  type RunResult,
  trainingBudget,
} from '@trainyard/contracts';
import {
  InvalidImageFolderError,
  InvalidPackedManifestError,
  InvalidSplitError,
  TooManyBadImagesError,
} from '@trainyard/datasets';
import { initEngine } from '@trainyard/engine';
import {
  CheckpointStore,
  CorruptCheckpointError,
  createObjectStore,
  filesToModelArtifacts,
  isTransientStorageError,
  ObjectNotFoundError,
  type ObjectStore,
} from '@trainyard/storage';
import { saveAugmentationSample } from './augmentation-sample';
import { cutModel, encoderCutLayer, loadImportedBase } from './base-model';
import { DivergedError } from './diverged.error';
import { runEvaluation } from './evaluate-run';
import { runFinetune } from './finetune';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { LAYERS_ENCODER } from './layers.model';
import { failureBehindTrap, forgetMemoryFailures, isWasmTrap } from './memory-failure';
import { loadModelFromArtifacts } from './model-files';
import { runPretrain } from './pretrain';
import { findResumePoint } from './resume';
import { assertTestImages, loadRunData } from './run-data';
import { parseStoredSpec, warnEscaped } from './stored-spec';
import { testMetricPoints } from './test-metrics';
import type { TrainingHooks, TrainingLoopOutcome } from './training-hooks';
import type { TrainingEvent, TrainingJobInput, TrainingOutcome } from './training-job.types';

/**
 * One training job from input to outcome: engine, object store, dataset, the checkpoint to resume
 * from (or the base encoder), training, checkpoints (written here, then announced), result. Runs
 * inside the training process (training.child.ts, one per attempt); `post` carries events to the
 * worker, `shouldStop` is the cancellation flag, `shouldPreempt` the preemption flag. Never throws.
 *
 * What a resume reproduces exactly: the weights, the optimizer state (Adam's moments and
 * iteration count), the position (epoch, step, next batch), the per-epoch shuffles (seeded by
 * spec seed and epoch index), the validation split and the dataset (seeded), step numbering and
 * checkpoint sequence. What it does not: tfjs draws dropout masks from an unseeded generator, so a
 * fine-tune with dropout takes a different (equally valid) path after a resume; and
 * initializers are unseeded too, which only matters for a run that starts from scratch.
 */
export async function runTrainingJob(
  input: TrainingJobInput,
  post: (event: TrainingEvent) => void,
  shouldStop: () => boolean,
  shouldPreempt: () => boolean = () => false,
): Promise<TrainingOutcome> {
  // The test scores go out as metrics first, so the run is found by them (`sort=metric:test/accuracy:best`).
  const postResult = (result: RunResult) => {
    post({ type: 'metrics', points: testMetricPoints(result, now()) });
    post({ type: 'result', result: result as Extract<TrainingEvent, { type: 'result' }>['result'] });
  };
  forgetMemoryFailures();
  try {
    const spec = parseStoredSpec(input.spec, warnEscaped("this run's spec"));
    // A steps budget's epochs are known once the data is: the loop's progress says them.
    const budget = spec.kind === 'evaluate' ? undefined : trainingBudget(spec.training);
    const epochs = budget === undefined ? 1 : budget.unit === 'epochs' ? budget.epochs : 0;
    post({
      type: 'progress',
      progress: {
        phase: 'loading',
        epoch: 0,
        epochs,
        step: 0,
        stepsPerEpoch: 0,
        // A steps budget is its total; an epochs budget's is known once the data is.
        ...(budget?.unit === 'steps' ? { totalSteps: budget.steps } : {}),
        updatedAt: now(),
      },
    });
    const engine = await initEngine({ backend: input.backend });
    post({ type: 'backend', backend: engine.backend, detail: engine.detail });
    const store = await createObjectStore(input.storage);
    const checkpoints = new CheckpointStore(store);
    if (spec.kind === 'evaluate') {
      if (!input.baseCheckpointUri)
        throw new InvalidTrainingInputError(`No checkpoint of run ${spec.checkpoint.runId} was resolved to evaluate`);
      const evaluation = {
        ...input,
        checkpointUri: input.baseCheckpointUri,
        sequence: input.baseCheckpointSequence ?? -1,
        trainedOn: input.baseCheckpointTrainedOn,
      };
      const result = await runEvaluation(spec, evaluation, checkpoints, post, shouldStop);
      if (result === 'cancelled') return { status: 'cancelled' };
      postResult(result);
      post({
        type: 'progress',
        progress: { phase: 'done', epoch: 1, epochs: 1, step: 0, stepsPerEpoch: 0, etaSeconds: 0, updatedAt: now() },
      });
      return { status: 'succeeded' };
    }
    const { data, report } = await loadRunData(spec.dataset, input, {
      seed: spec.training.seed,
      labeled: spec.kind === 'finetune',
      // A streamed dataset names the unusable images it meets while training.
      onReport: (updated) => post({ type: 'data-report', report: updated }),
    });
    if (report) post({ type: 'data-report', report });
    assertTestImages(spec.dataset, data);

    let sequence = input.firstCheckpointSequence;
    // Where this run's checkpoints are: this attempt's, the earlier attempts' complete ones (resume
    // candidates), else where the run writes them (reading verifies every file against the manifest).
    const stored = new Map((input.resumeCandidates ?? []).map((c) => [c.sequence, c.uri]));
    let lastProgress: RunProgress | undefined;
    const hooks: TrainingHooks = {
      onProgress: (progress) => {
        lastProgress = progress;
        post({ type: 'progress', progress });
      },
      onMetrics: (points) => post({ type: 'metrics', points }),
      onCheckpoint: async ({ epoch, step, files, models, meta, reason, metric }) => {
        const seq = sequence++;
        const written = await checkpoints.write(input.runId, seq, files, {
          ...meta,
          runId: input.runId,
          sequence: seq,
          models,
        });
        stored.set(seq, written.uri);
        post({
          type: 'checkpoint',
          sequence: seq,
          epoch,
          step,
          models,
          ...written,
          reason,
          ...(metric ? { metric } : {}),
        });
        return seq;
      },
      readCheckpoint: async (seq) =>
        (await checkpoints.read(stored.get(seq) ?? store.uri(checkpoints.prefix(input.runId, seq)))).files,
      shouldStop,
      shouldPreempt,
    };

    // Preempted while loading: nothing trained, nothing to save.
    if (shouldStop()) return { status: 'cancelled' };
    if (shouldPreempt()) return { status: 'preempted' };
    const resume = await findResumePoint(input.resumeCandidates ?? [], checkpoints, spec.kind, post);
    if (resume) post({ type: 'resumed', sequence: resume.sequence, epoch: resume.epoch, step: resume.step });
    // Without a usable candidate the run starts from scratch; the 'checkpoint-corrupt' events say why.

    let outcome: TrainingLoopOutcome<unknown>;
    if (spec.kind === 'pretrain') {
      outcome = await runPretrain(data, spec, hooks, { resume: resume ?? undefined });
    } else {
      // A resumed fine-tune restores its own classifier, base layers included: no base read.
      const encoder = resume ? null : await loadBase(spec, input, checkpoints, store);
      if (spec.augmentation && !resume)
        await saveAugmentationSample(
          store,
          input.runId,
          data.train,
          data.imageShape,
          spec.augmentation,
          spec.training.seed,
        );
      const baseCheckpoint =
        input.baseCheckpointOf && input.baseCheckpointSequence !== undefined
          ? { ...input.baseCheckpointOf, sequence: input.baseCheckpointSequence }
          : undefined;
      outcome = await runFinetune(data, spec, encoder, hooks, {
        resume: resume ?? undefined,
        baseCheckpoint,
        modelParameterQuota: input.modelParameterQuota,
      });
    }
    if (outcome.status === 'cancelled' || outcome.status === 'preempted') return { status: outcome.status };
    postResult(outcome.result as RunResult);
    // 'done' keeps the last step and rate, so the run's stored progress still reads as a whole.
    const ended = resume?.epoch ?? epochs;
    const base = lastProgress ?? {
      epoch: ended,
      epochs: Math.max(epochs, ended),
      step: Math.max(0, resume?.step ?? 0),
      stepsPerEpoch: 0,
    };
    post({ type: 'progress', progress: { ...base, phase: 'done', etaSeconds: 0, updatedAt: now() } });
    return { status: 'succeeded' };
  } catch (error) {
    return trainingFailure(input.runId, error);
  } finally {
    disposeVariablesAfter();
  }
}

/**
 * Frees the job's variables. After a wasm trap the heap is unusable and freeing may trap again:
 * that must not replace the job's outcome; the process ends with its attempt, its memory with it.
 */
function disposeVariablesAfter(): void {
  try {
    tf.disposeVariables();
  } catch (error) {
    if (!isWasmTrap(error)) throw error;
  }
}

/** The base of a fresh fine-tune: a checkpoint's encoder, a fine-tuned classifier cut below its head, or an imported model. */
async function loadBase(
  spec: FinetuneSpec,
  input: TrainingJobInput,
  checkpoints: CheckpointStore,
  store: ObjectStore,
): Promise<tf.LayersModel | null> {
  const base = classifierBase(spec.model);
  if (base.kind === 'scratch') return null;
  if (base.kind === 'imported') return loadImportedBase(base.model, store, input.paths?.localRoots ?? []);
  const what =
    base.kind === 'run' ? `Base run ${base.runId}` : `Registered model ${base.model.name} v${base.model.version}`;
  const uri = input.baseCheckpointUri;
  if (!uri) throw new InvalidTrainingInputError(`${what} was given without a checkpoint uri`);
  const model = input.baseCheckpointModel ?? 'encoder';
  let files: Record<string, Buffer>;
  try {
    // Only the model used: a pretrain's checkpoint also holds its autoencoder with Adam's moments
    // (three times its weights), which a fine-tune of the encoder read, verified and held for nothing.
    ({ files } = await checkpoints.read(uri, { only: `${model}/` }));
  } catch (error) {
    // Gone or damaged (a bucket restored from an older backup): said as the base's, not as a bare key.
    if (!(error instanceof CorruptCheckpointError || error instanceof ObjectNotFoundError)) throw error;
    throw new InvalidTrainingInputError(`${what} cannot be fine-tuned from: ${error.message}`);
  }
  if (!files[`${model}/model.json`])
    throw new InvalidTrainingInputError(`Checkpoint ${uri} of ${what} has no '${model}' model`);
  const loaded = await loadModelFromArtifacts({ ...filesToModelArtifacts(model, files), trainingConfig: undefined });
  const source = `${what} (checkpoint ${uri})`;
  // An encoder is cut at model.cutAt ('conv' by default); a fine-tuned classifier below its head unless cutAt is given.
  // An encoder of a pretrain's own layers is the base whole (its output is what it learnt to encode).
  if (loaded.name === LAYERS_ENCODER && spec.model.cutAt === undefined) return loaded;
  const cutAt = model === 'encoder' ? (spec.model.cutAt ?? 'conv') : spec.model.cutAt;
  return cutModel(loaded, cutAt ? encoderCutLayer(loaded, cutAt, source) : undefined, source);
}

/**
 * Diverged training, bad input and a missing or corrupt base checkpoint fail for good (the same
 * input fails again); anything else (storage outages, a crashed backend) may be retried. An object
 * store that could not be reached is said so (`storeUnavailable`): its retry waits for the store.
 * A wasm trap is read as memory first (failureBehindTrap): the pass that ran out, or memory at large.
 */
export function trainingFailure(runId: string, thrown: unknown): TrainingOutcome {
  // A trap in the cleanup after a pass ran out of wasm memory is that pass's failure.
  const error = failureBehindTrap(thrown);
  const message = error instanceof Error ? error.message : String(error);
  const permanent =
    error instanceof DivergedError ||
    error instanceof InvalidTrainingInputError ||
    error instanceof InvalidImageFolderError ||
    error instanceof InvalidPackedManifestError ||
    error instanceof InvalidSplitError ||
    error instanceof CorruptCheckpointError ||
    error instanceof ObjectNotFoundError ||
    // A streamed dataset's bad images are the same on every attempt.
    error instanceof TooManyBadImagesError;
  const failure = { status: 'failed', reason: `run ${runId}: ${message}`, retryable: !permanent } as const;
  return !permanent && isTransientStorageError(error) ? { ...failure, storeUnavailable: true } : failure;
}

function now(): string {
  return new Date().toISOString();
}
