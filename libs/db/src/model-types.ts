import type {
  Attempt,
  Checkpoint as CheckpointRow,
  MetricPoint as MetricPointRow,
  MetricSummary,
  Run,
  Worker,
} from './generated/prisma/client';

export type { Attempt, MetricSummary, Run, Worker };

/**
 * BigInt columns leave libs/db as numbers: JSON.stringify throws on bigint, and no checkpoint
 * size or metric-point id comes near 2^53.
 */
export type Checkpoint = Omit<CheckpointRow, 'bytes'> & { bytes: number };
export type MetricPoint = Omit<MetricPointRow, 'id'> & { id: number };

/** A point as a writer hands it to MetricsRepository (each (name, step) once per run). */
export interface MetricPointInput {
  name: string;
  step: number;
  epoch: number;
  value: number;
  wallTime: Date;
}

export function toCheckpoint(row: CheckpointRow): Checkpoint {
  return { ...row, bytes: Number(row.bytes) };
}

export function toMetricPoint(row: MetricPointRow): MetricPoint {
  return { ...row, id: Number(row.id) };
}

/** A run as list views show it: everything but the (large) spec, plus its metric summaries. */
/** A row of the runs list: the run without its spec, its metric summaries and its base run's name. */
export type RunListItem = Omit<Run, 'spec'> & { summaries: MetricSummary[]; baseRunName: string | null };

/** A run with everything a detail page shows. Checkpoints are the COMPLETE ones only. */
export type RunDetail = Run & { attempts: Attempt[]; summaries: MetricSummary[]; checkpoints: Checkpoint[] };
