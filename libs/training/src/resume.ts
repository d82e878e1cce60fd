import type { RunSpec } from '@trainyard/contracts';
import {
  type CheckpointStore,
  CorruptCheckpointError,
  filesToModelArtifacts,
  ObjectNotFoundError,
} from '@trainyard/storage';
import { hasOptimizerState } from './model-files';
import type { ResumeCandidate, TrainingEvent } from './training-job.types';
import { parseTrainingState, TRAINING_STATE_FILE, type ResumeFrom } from './training-state';

/** The model a run kind trains and resumes: its checkpoints carry it with the optimizer state. */
export function trainedModelName(kind: RunSpec['kind']): string {
  return kind === 'pretrain' ? 'autoencoder' : 'classifier';
}

export interface ResumePoint extends ResumeFrom {
  sequence: number;
}

/**
 * Tries the candidates in order (newest first) and returns the first that reads back intact and
 * holds a usable state: state.json of this run's kind and the trained model with its optimizer
 * state. Each one passed over is reported as 'checkpoint-corrupt'. Storage errors other than a
 * missing object (an outage) are thrown: the attempt fails retryably rather than silently
 * resuming from an older checkpoint, or from scratch.
 */
export async function findResumePoint(
  candidates: readonly ResumeCandidate[],
  checkpoints: CheckpointStore,
  kind: RunSpec['kind'],
  post: (event: TrainingEvent) => void,
): Promise<ResumePoint | null> {
  for (const { sequence, uri } of candidates) {
    const skip = (reason: string) => post({ type: 'checkpoint-corrupt', sequence, reason });
    let files: Record<string, Buffer>;
    try {
      ({ files } = await checkpoints.read(uri));
    } catch (error) {
      if (!(error instanceof CorruptCheckpointError || error instanceof ObjectNotFoundError)) throw error;
      skip(error.message);
      continue;
    }
    try {
      const state = parseTrainingState(files[TRAINING_STATE_FILE]);
      if (state.kind !== kind) throw new Error(`it is a ${state.kind} checkpoint, this run is a ${kind}`);
      const model = trainedModelName(kind);
      if (!hasOptimizerState(filesToModelArtifacts(model, files))) {
        throw new Error(`model '${model}' was saved without its optimizer state`);
      }
      const { epoch, step, nextBatch, epochTotals, tracking, metric, classNames } = state;
      return { sequence, epoch, step, nextBatch, epochTotals, tracking, metric, files, classNames };
    } catch (error) {
      skip(`Checkpoint ${uri} cannot be resumed from: ${(error as Error).message}`);
    }
  }
  return null;
}
