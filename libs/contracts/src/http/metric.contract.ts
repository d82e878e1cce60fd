import { z } from 'zod';
import { Id, MeasuredValue, Timestamp } from './wire';
import type { Inferred } from '../named-schema';

const metricPointViewSchema = z.strictObject({
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
export interface MetricPointViewSchemaType extends Inferred<typeof metricPointViewSchema> {}
/** One point of a run's metric series (each (run, name, step) once). */
export const MetricPointViewSchema: MetricPointViewSchemaType = metricPointViewSchema;
export type MetricPointView = z.infer<typeof MetricPointViewSchema>;

const metricSeriesSchema = z.strictObject({
  name: z.string(),
  total: z.int(),
  points: z.array(MetricPointViewSchema),
});
export interface MetricSeriesSchemaType extends Inferred<typeof metricSeriesSchema> {}
/** One metric of a run: its points (all, or downsampled with the extremes kept) and how many it really has. */
export const MetricSeriesSchema: MetricSeriesSchemaType = metricSeriesSchema;
export type MetricSeries = z.infer<typeof MetricSeriesSchema>;

const runSeriesSchema = z.strictObject({ runId: Id, series: z.array(MetricSeriesSchema) });
export interface RunSeriesSchemaType extends Inferred<typeof runSeriesSchema> {}
/** `GET /v1/runs/:id/series`: what charts draw. */
export const RunSeriesSchema: RunSeriesSchemaType = runSeriesSchema;
export type RunSeries = z.infer<typeof RunSeriesSchema>;

const runMetricsSchema = z.strictObject({ runId: Id, points: z.array(MetricPointViewSchema) });
export interface RunMetricsSchemaType extends Inferred<typeof runMetricsSchema> {}
/** `GET /v1/runs/:id/metrics`: the same points as one list, by name then step. */
export const RunMetricsSchema: RunMetricsSchemaType = runMetricsSchema;
export type RunMetrics = z.infer<typeof RunMetricsSchema>;
