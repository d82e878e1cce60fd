import { metricGoal } from './metric-goal';

export interface RetainedCheckpoint {
  id: string;
  sequence: number;
  metricName: string | null;
  metricValue: number | null;
}

/**
 * Which of a run's COMPLETE checkpoints may go: every one but the newest `keepLast`, the best
 * by the metric each was judged by (per metric name, lower is better for losses), and the pinned
 * ones (a fine-tune's base). NaN is never best. Input in any order; output by sequence.
 */
export function retentionVictims<C extends RetainedCheckpoint>(
  checkpoints: C[],
  keepLast: number,
  pinned: ReadonlySet<string>,
): C[] {
  const bySequence = [...checkpoints].sort((a, b) => a.sequence - b.sequence);
  const keep = new Set(bySequence.slice(Math.max(0, bySequence.length - Math.max(1, keepLast))).map((c) => c.id));
  for (const id of pinned) keep.add(id);
  const best = new Map<string, C>();
  for (const c of bySequence) {
    if (c.metricName === null || c.metricValue === null || Number.isNaN(c.metricValue)) continue;
    const current = best.get(c.metricName);
    const lower = metricGoal(c.metricName) === 'min';
    if (!current || (lower ? c.metricValue < current.metricValue! : c.metricValue > current.metricValue!))
      best.set(c.metricName, c);
  }
  for (const c of best.values()) keep.add(c.id);
  return bySequence.filter((c) => !keep.has(c.id));
}

/** A checkpoint folder as the store shows it. */
export interface CheckpointFolderAge {
  sequence: number;
  /** The newest object in the folder: an upload in progress keeps this recent. */
  lastModified: Date;
}

/** What the database says about a run's checkpoints, read in one snapshot. */
export interface CheckpointSweepRecord {
  runId: string;
  /** SUCCEEDED, FAILED or CANCELLED: no attempt can open, so no checkpoint can be recorded any more. */
  terminal: boolean;
  /** The highest attempt number the run has opened; null if none. */
  latestAttempt: number | null;
  /** Every checkpoint row of the run. */
  rows: { sequence: number; status: string; uri: string }[];
}

export interface OrphanSweepRules {
  now: Date;
  /** A folder written to more recently than this is left alone, whatever the database says. */
  graceMs: number;
  /** Attempt n writes sequences from (n - 1) × sequenceBlock + 1 on (see the worker's TrainingProcessor). */
  sequenceBlock: number;
}

/** Rows that still stand for their folder: resume or downloads may read it, or a person may inspect it. */
const LIVE_STATUSES = new Set(['COMPLETE', 'WRITING', 'CORRUPT']);

/**
 * Which checkpoint folders of a run no row will ever stand for, so they may be deleted:
 * - a folder whose row is DELETED (retention marked it, then its object deletes were interrupted);
 * - a folder with no row at all, once no attempt can still record it: the run is terminal, or
 *   the sequence lies below the block of the run's latest attempt. Those were written by attempts
 *   that were replaced (fenced) or crashed mid-upload, and a replaced attempt can never record a
 *   checkpoint again (every recording is fenced on the run's current attempt).
 * Never one that a COMPLETE, WRITING or CORRUPT row names (by sequence or by its uri), and never
 * one written to within the grace period: an upload still running keeps its folder fresh.
 * `record` must be read before the folders are listed (see CheckpointsRepository.sweepRecord).
 */
export function orphanCheckpointSequences(
  folders: CheckpointFolderAge[],
  record: CheckpointSweepRecord,
  rules: OrphanSweepRules,
): number[] {
  const live = new Set<number>();
  const deleted = new Set<number>();
  const uriSequence = new RegExp(
    `(?:^|/)runs/${record.runId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/checkpoints/(\\d+)/?$`,
  );
  for (const row of record.rows) {
    if (!LIVE_STATUSES.has(row.status)) {
      deleted.add(row.sequence);
      continue;
    }
    live.add(row.sequence);
    const pointed = uriSequence.exec(row.uri);
    if (pointed) live.add(Number(pointed[1]));
  }
  const settledBelow = record.terminal
    ? Number.POSITIVE_INFINITY
    : record.latestAttempt === null
      ? 0
      : (record.latestAttempt - 1) * rules.sequenceBlock + 1;
  return folders
    .filter((f) => {
      if (live.has(f.sequence)) return false;
      if (rules.now.getTime() - f.lastModified.getTime() < rules.graceMs) return false;
      return deleted.has(f.sequence) || f.sequence < settledBelow;
    })
    .map((f) => f.sequence)
    .sort((a, b) => a - b);
}
