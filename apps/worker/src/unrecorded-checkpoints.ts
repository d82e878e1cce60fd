import type { ResumePoint } from '@trainyard/db';
import type { CheckpointStore } from '@trainyard/storage';
import type { ResumeCandidate } from '@trainyard/training/supervisor';

/** Where an attempt may resume from and the last checkpoint sequence it must number past. */
export interface ResumePlan {
  candidates: ResumeCandidate[];
  /** The highest sequence PostgreSQL records or the store holds a folder of. */
  lastSequence: number;
  /** Complete folders past every recorded checkpoint, newest first: tried before the recorded ones. */
  unrecorded: number[];
}

/**
 * The run's resume point widened by what the store holds past every checkpoint PostgreSQL records,
 * when the store holds none of those it records: PostgreSQL restored from a backup older than the
 * bucket, its later checkpoints' rows lost with it and retention meanwhile deleting the ones it
 * records. Those complete folders are tried first, newest first; the training process verifies each
 * against its manifest's sha256 and its state before resuming from it, as it does a recorded one.
 * While a recorded checkpoint is left, the recorded ones alone are tried, as before: a folder past
 * them is also what an attempt killed between uploading a checkpoint and recording it leaves, and
 * the metric points of the epochs it holds may not have reached PostgreSQL (resuming from it would
 * leave them out of the run's history for good). Either way the attempt numbers its checkpoints
 * past every folder, so it never writes into one it did not start.
 */
export async function withUnrecordedCheckpoints(
  store: CheckpointStore,
  runId: string,
  point: ResumePoint,
): Promise<ResumePlan> {
  const recordedLast = point.nextSequence - 1;
  const folders = await store.folders(runId);
  const complete = new Set(folders.filter((folder) => folder.complete).map((folder) => folder.sequence));
  const recordedGone = point.candidates.length > 0 && !point.candidates.some((c) => complete.has(c.sequence));
  const unrecorded = recordedGone
    ? folders
        .filter((folder) => folder.complete && folder.sequence > recordedLast)
        .map((folder) => folder.sequence)
        .reverse()
    : [];
  return {
    candidates: [
      ...unrecorded.map((sequence) => ({ sequence, uri: store.store.uri(store.prefix(runId, sequence)) })),
      ...point.candidates,
    ],
    lastSequence: Math.max(recordedLast, ...folders.map((folder) => folder.sequence)),
    unrecorded,
  };
}
