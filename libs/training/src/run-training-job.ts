import * as tf from '@tensorflow/tfjs';
import { type RunProgress, RunSpecSchema, type RunSpec } from '@trainyard/contracts';
import { loadDataset } from '@trainyard/datasets';
import { initEngine } from '@trainyard/engine';
import {
  CheckpointStore,
  CorruptCheckpointError,
  createObjectStore,
  filesToModelArtifacts,
  ObjectNotFoundError,
} from '@trainyard/storage';
import { DivergedError } from './diverged.error';
import { runFinetune } from './finetune';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { loadModelFromArtifacts } from './model-files';
import { runPretrain } from './pretrain';
import type { TrainingHooks, TrainingLoopOutcome } from './training-hooks';
import type { TrainingEvent, TrainingJobInput, TrainingOutcome } from './training-job.types';

/**
 * One training job from input to outcome: engine, object store, dataset, base encoder, training,
 * checkpoints (written here, then announced), result. Runs inside the training thread; `post`
 * carries events to the parent, `shouldStop` is the cancellation flag. Never throws.
 */
export async function runTrainingJob(
  input: TrainingJobInput,
  post: (event: TrainingEvent) => void,
  shouldStop: () => boolean,
): Promise<TrainingOutcome> {
  try {
    const spec = parseSpec(input.spec);
    const epochs = spec.training.epochs;
    post({ type: 'progress', progress: { phase: 'loading', epoch: 0, epochs, step: 0, stepsPerEpoch: 0, updatedAt: now() } });
    const engine = await initEngine({ backend: input.backend });
    post({ type: 'backend', backend: engine.backend, detail: engine.detail });
    const checkpoints = new CheckpointStore(await createObjectStore(input.storage));
    const data = loadDataset(spec.dataset, { seed: spec.training.seed, labeled: spec.kind === 'finetune' });

    let sequence = input.firstCheckpointSequence;
    let lastProgress: RunProgress | undefined;
    const hooks: TrainingHooks = {
      onProgress: (progress) => {
        lastProgress = progress;
        post({ type: 'progress', progress });
      },
      onMetrics: (points) => post({ type: 'metrics', points }),
      onCheckpoint: async ({ epoch, step, files, models, meta }) => {
        const seq = sequence++;
        const written = await checkpoints.write(input.runId, seq, files, { ...meta, runId: input.runId, sequence: seq, models });
        post({ type: 'checkpoint', sequence: seq, epoch, step, models, ...written });
      },
      shouldStop,
    };

    let outcome: TrainingLoopOutcome<unknown>;
    if (spec.kind === 'pretrain') {
      outcome = await runPretrain(data, spec, hooks);
    } else {
      const encoder = await loadBaseEncoder(spec, input.baseCheckpointUri, checkpoints);
      outcome = await runFinetune(data, spec, encoder, hooks);
    }
    if (outcome.status === 'cancelled') return { status: 'cancelled' };
    post({ type: 'result', result: outcome.result as Extract<TrainingEvent, { type: 'result' }>['result'] });
    // 'done' keeps the last step and rate, so the run's stored progress still reads as a whole.
    const base = lastProgress ?? { epoch: epochs, epochs, step: 0, stepsPerEpoch: 0 };
    post({ type: 'progress', progress: { ...base, phase: 'done', etaSeconds: 0, updatedAt: now() } });
    return { status: 'succeeded' };
  } catch (error) {
    return failure(input.runId, error);
  } finally {
    tf.disposeVariables();
  }
}

function parseSpec(spec: RunSpec): RunSpec {
  const parsed = RunSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new InvalidTrainingInputError(`The run spec is invalid: ${fields}`);
  }
  return parsed.data;
}

async function loadBaseEncoder(
  spec: Extract<RunSpec, { kind: 'finetune' }>,
  uri: string | undefined,
  checkpoints: CheckpointStore,
): Promise<tf.LayersModel | null> {
  if (!spec.model.baseRunId) return null;
  if (!uri) throw new InvalidTrainingInputError(`Base run ${spec.model.baseRunId} was given without a checkpoint uri`);
  const { files } = await checkpoints.read(uri);
  if (!files['encoder/model.json']) {
    throw new InvalidTrainingInputError(`Checkpoint ${uri} of base run ${spec.model.baseRunId} has no 'encoder' model`);
  }
  return loadModelFromArtifacts(filesToModelArtifacts('encoder', files));
}

/**
 * Diverged training, bad input and a missing or corrupt base checkpoint fail for good (the same
 * input fails again); anything else (storage outages, a crashed backend) may be retried.
 */
function failure(runId: string, error: unknown): TrainingOutcome {
  const message = error instanceof Error ? error.message : String(error);
  const permanent =
    error instanceof DivergedError ||
    error instanceof InvalidTrainingInputError ||
    error instanceof CorruptCheckpointError ||
    error instanceof ObjectNotFoundError;
  return { status: 'failed', reason: `run ${runId}: ${message}`, retryable: !permanent };
}

function now(): string {
  return new Date().toISOString();
}
