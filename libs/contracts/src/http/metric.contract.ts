import { z } from 'zod';
import { Id, MeasuredValue, Timestamp } from './wire';

/** One point of a run's metric series (each (run, name, step) once). */
export const MetricPointViewSchema = z.strictObject({
  /** Grows with every point written: a live view asks for the points after the last it has. */
  id: z.int(),
  runId: Id,
  attemptId: Id.nullable(),
  name: z.string(),
  step: z.int(),
  epoch: z.int(),
  value: MeasuredValue,
  wallTime: Timestamp,
});
export type MetricPointView = z.infer<typeof MetricPointViewSchema>;

/** One metric of a run: its points (all, or downsampled with the extremes kept) and how many it really has. */
export const MetricSeriesSchema = z.strictObject({
  name: z.string(),
  total: z.int(),
  points: z.array(MetricPointViewSchema),
});
export type MetricSeries = z.infer<typeof MetricSeriesSchema>;

/** `GET /v1/runs/:id/series`: what charts draw. */
export const RunSeriesSchema = z.strictObject({ runId: Id, series: z.array(MetricSeriesSchema) });
export type RunSeries = z.infer<typeof RunSeriesSchema>;

/** `GET /v1/runs/:id/metrics`: the same points as one list, by name then step. */
export const RunMetricsSchema = z.strictObject({ runId: Id, points: z.array(MetricPointViewSchema) });
export type RunMetrics = z.infer<typeof RunMetricsSchema>;
