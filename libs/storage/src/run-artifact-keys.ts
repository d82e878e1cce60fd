import { RUNS_ROOT } from './internal-prefixes';

/**
 * Where a run's files other than checkpoints live in the store. Shared by the training thread
 * and the worker that write them and the API that serves them (which may not import the
 * training library).
 */
export function augmentationSampleKey(runId: string): string {
  return `${RUNS_ROOT}${runId}/augmentation.png`;
}

/** Every chunk of a run's log is under this prefix; checkpoint retention and sweeps never touch it. */
export function runLogPrefix(runId: string): string {
  return `${RUNS_ROOT}${runId}/logs/`;
}

/** Which attempt wrote a chunk, and its place among that attempt's chunks (from 1). */
export interface RunLogChunkId {
  attempt: number;
  sequence: number;
}

const CHUNK_NAME = /^(\d{5,})-(\d{6,})\.ndjson$/;

/**
 * `runs/<runId>/logs/<attempt, 5 digits>-<sequence, 6 digits>.ndjson`: a listing sorted by key
 * is the log in order (attempts one after another, each attempt's chunks in the order written).
 */
export function runLogChunkKey(runId: string, chunk: RunLogChunkId): string {
  return `${runLogPrefix(runId)}${String(chunk.attempt).padStart(5, '0')}-${String(chunk.sequence).padStart(6, '0')}.ndjson`;
}

/** The chunk a key under `runLogPrefix(runId)` names, or null for anything else found there. */
export function parseRunLogChunkKey(runId: string, key: string): RunLogChunkId | null {
  const prefix = runLogPrefix(runId);
  if (!key.startsWith(prefix)) return null;
  const match = CHUNK_NAME.exec(key.slice(prefix.length));
  if (!match) return null;
  const attempt = Number(match[1]);
  const sequence = Number(match[2]);
  return Number.isSafeInteger(attempt) && Number.isSafeInteger(sequence) ? { attempt, sequence } : null;
}
