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

/** A point as a writer hands it to MetricsRepository (each (name, step) once per run): the row's own fields. */
export type MetricPointInput = Pick<MetricPointRow, 'name' | 'step' | 'epoch' | 'value' | 'wallTime'>;

export function toCheckpoint(row: CheckpointRow): Checkpoint {
  return { ...row, bytes: Number(row.bytes) };
}

export function toMetricPoint(row: MetricPointRow): MetricPoint {
  return { ...row, id: Number(row.id) };
}
