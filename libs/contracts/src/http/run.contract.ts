import { z } from 'zod';
import type { DataReport, RunResult } from '../evaluation.contract';
import type { RunProgress } from '../queue.contract';
import type { RunSpec } from '../run-spec.schema';
import { RESOURCE_CLASSES } from '../resources.schema';
import { ATTEMPT_OUTCOMES, RUN_KINDS, RUN_STATUSES } from '../run-state';
import type { SweepValues } from '../sweep-parameters';
import { CheckpointViewSchema } from './checkpoint.contract';
import { MetricSeriesSchema } from './metric.contract';
import { Id, MeasuredValue, NullableTimestamp, recorded, Timestamp } from './wire';
import type { Inferred } from '../named-schema';

/** A run's progress as the worker last reported it (RunProgress), or null before its first report. */
const RecordedProgress = recorded<RunProgress>('The RunProgress the worker last reported').nullable();

const runViewSchema = z.strictObject({
  id: Id,
  kind: z.enum(RUN_KINDS),
  status: z.enum(RUN_STATUSES),
  name: z.string(),
  spec: recorded<RunSpec>('The RunSpec as recorded at submit, defaults filled in'),
  /** The run it builds on: a fine-tune's pretrain, an evaluation's fine-tune. */
  baseRunId: Id.nullable(),
  failureReason: z.string().nullable(),
  cancelRequested: z.boolean(),
  progress: RecordedProgress,
  result: recorded<RunResult>('The RunResult: classification, evaluation or reconstruction report').nullable(),
  dataReport: recorded<DataReport>('The DataReport of its data load: files, splits, skipped files').nullable(),
  backend: z.string().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  startedAt: NullableTimestamp,
  endedAt: NullableTimestamp,
  /** The attempt allowed to write for the run (the fencing token). */
  currentAttemptId: Id.nullable(),
  /** The checkpoint it starts from (a fine-tune) or evaluates, pinned against retention. */
  baseCheckpointId: Id.nullable(),
  pipelineId: Id.nullable(),
  /** A pipeline step waiting for its upstream run: not queued yet. */
  held: z.boolean(),
  sweepId: Id.nullable(),
  sweepParams: recorded<SweepValues>('The values its sweep chose, by parameter path').nullable(),
  project: z.string(),
  /** Labels for finding the run again (`GET /v1/runs?tag=…`), in the order given. */
  tags: z.array(z.string()),
  /** Markdown a person wrote about the run (clients show it as text). */
  notes: z.string().nullable(),
  /** Archived runs are left out of lists unless `archived=true|any`. */
  archivedAt: NullableTimestamp,
  /**
   * When its metric points were compacted (METRIC_POINTS_COMPACT_AFTER_MS after it ended), or null:
   * since then, of every 256-step block of a series that held more than 4
   * points, only those at the block's first, min, max and last step remain. Summaries, sorts,
   * series totals and charts drawn from whole blocks are as before; a raw read returns fewer points.
   */
  metricsCompactedAt: NullableTimestamp,
});
export interface RunViewSchemaType extends Inferred<typeof runViewSchema> {}
/** A run as the API shows it: every column of its row, dates as ISO strings. */
export const RunViewSchema: RunViewSchemaType = runViewSchema;
export type RunView = z.infer<typeof RunViewSchema>;

const metricSummaryViewSchema = z.strictObject({
  runId: Id,
  name: z.string(),
  /** "min" when lower is better (losses), "max" otherwise. */
  goal: z.enum(['min', 'max']),
  count: z.int(),
  last: MeasuredValue,
  lastStep: z.int(),
  min: MeasuredValue,
  max: MeasuredValue,
  best: MeasuredValue,
  bestStep: z.int(),
  updatedAt: Timestamp,
});
export interface MetricSummaryViewSchemaType extends Inferred<typeof metricSummaryViewSchema> {}
/** A metric's summary on a run, kept in step with its points; what run lists sort by. */
export const MetricSummaryViewSchema: MetricSummaryViewSchemaType = metricSummaryViewSchema;
export type MetricSummaryView = z.infer<typeof MetricSummaryViewSchema>;

const attemptViewSchema = z.strictObject({
  id: Id,
  runId: Id,
  number: z.int().min(1),
  workerId: z.string().nullable(),
  backend: z.string().nullable(),
  startedAt: Timestamp,
  endedAt: NullableTimestamp,
  outcome: z.enum(ATTEMPT_OUTCOMES),
  error: z.string().nullable(),
});
export interface AttemptViewSchemaType extends Inferred<typeof attemptViewSchema> {}
export const AttemptViewSchema: AttemptViewSchemaType = attemptViewSchema;
export type AttemptView = z.infer<typeof AttemptViewSchema>;

const runDetailViewSchema = RunViewSchema.extend({
  attempts: z.array(AttemptViewSchema),
  summaries: z.array(MetricSummaryViewSchema),
  checkpoints: z.array(CheckpointViewSchema),
});
export interface RunDetailViewSchemaType extends Inferred<typeof runDetailViewSchema> {}
/** `GET /v1/runs/:id`: the run with its attempts, metric summaries and COMPLETE checkpoints. */
export const RunDetailViewSchema: RunDetailViewSchemaType = runDetailViewSchema;
export type RunDetailView = z.infer<typeof RunDetailViewSchema>;

const runListItemViewSchema = RunViewSchema.omit({ spec: true }).extend({
  summaries: z.array(MetricSummaryViewSchema),
  baseRunName: z.string().nullable(),
});
export interface RunListItemViewSchemaType extends Inferred<typeof runListItemViewSchema> {}
/** A row of a run list: the run without its (large) spec, with its summaries and its base run's name. */
export const RunListItemViewSchema: RunListItemViewSchemaType = runListItemViewSchema;
export type RunListItemView = z.infer<typeof RunListItemViewSchema>;

/** `GET /v1/runs`: a keyset page. */
/** The most runs one page of `GET /v1/runs` holds (`limit`), and how many when `limit` is left out. */
export const RUN_LIST_MAX_LIMIT = 200;
export const RUN_LIST_DEFAULT_LIMIT = 50;

/**
 * `idPrefix` of `GET /v1/runs`: the first hex digits of a run id (without its dashes), at least
 * RUN_ID_PREFIX_MIN of them, as `trainyard ls` shows ids by their first 8. Hex only: the prefix
 * becomes a range of the id's primary key, never text matched in SQL.
 */
export const RUN_ID_PREFIX_MIN = 4;
export const RUN_ID_PREFIX = new RegExp(`^[0-9a-f]{${RUN_ID_PREFIX_MIN},32}$`);

/** `sort=metric:<name>:<best|last|min|max>`: the run list ordered by a metric summary (else `createdAt`). */
export const RUN_LIST_METRIC_SORT = /^metric:([^:]+):(best|last|min|max)$/;

const runListPageSchema = z.strictObject({
  items: z.array(RunListItemViewSchema),
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: z.string().nullable(),
});
export interface RunListPageSchemaType extends Inferred<typeof runListPageSchema> {}
export const RunListPageSchema: RunListPageSchemaType = runListPageSchema;
export type RunListPage = z.infer<typeof RunListPageSchema>;

const runCreatedSchema = z.strictObject({ id: Id, status: z.enum(RUN_STATUSES) });
export interface RunCreatedSchemaType extends Inferred<typeof runCreatedSchema> {}
/** `POST /v1/runs` (and its replays under an Idempotency-Key). */
export const RunCreatedSchema: RunCreatedSchemaType = runCreatedSchema;
export type RunCreated = z.infer<typeof RunCreatedSchema>;

const runLiveStateSchema = z.strictObject({
  status: z.enum(RUN_STATUSES),
  progress: RecordedProgress,
  failureReason: z.string().nullable(),
  endedAt: NullableTimestamp,
});
export interface RunLiveStateSchemaType extends Inferred<typeof runLiveStateSchema> {}
/** What a live view shows of a run and follows as it changes. */
export const RunLiveStateSchema: RunLiveStateSchemaType = runLiveStateSchema;
export type RunLiveState = z.infer<typeof RunLiveStateSchema>;

const runQueueViewSchema = z.strictObject({
  runId: Id,
  status: z.enum(RUN_STATUSES),
  resourceClass: z.enum(RESOURCE_CLASSES),
  /** The BullMQ queue of its class. */
  queue: z.string(),
  /** BullMQ's state of its job (prioritized and waiting: in line; delayed: given back for a moment); null when it has none (ended, held by its pipeline, or lost with Redis until the reconciler adds it again). */
  jobState: z.string().nullable(),
  /** Jobs handed out before it (0: it is next), while it is in line; null otherwise. */
  ahead: z.int().min(0).nullable(),
  /** Its job is delayed, parked by a worker that found its project at its limit: it goes back in line when a run of the project ends. */
  parked: z.boolean(),
  /**
   * Live workers that consume its class and have the memory it asks for. Draining and drained
   * workers are live (a drain may be taken back: the submit check counts them too), so they count.
   */
  servingWorkers: z.int().min(0),
  /** How many of `servingWorkers` are draining or drained: they take no job until their drain is taken back. */
  drainingWorkers: z.int().min(0),
  /**
   * Its project's runs training now against the project's limit: its own (`source: 'project'`, set
   * over `PATCH /v1/projects/:project/limits`), else the fleet's PROJECT_MAX_RUNNING (`'default'`:
   * the API's when it is given one, else what the live workers apply when they agree); null when
   * neither holds it. While `running` is at `limit`, workers park its job
   * however far ahead it is: it waits for one of them to end.
   */
  projectLimit: z
    .strictObject({
      project: z.string(),
      running: z.int().min(0),
      limit: z.int().min(1),
      source: z.enum(['project', 'default']),
    })
    .nullable(),
});
export interface RunQueueViewSchemaType extends Inferred<typeof runQueueViewSchema> {}
/**
 * `GET /v1/runs/:id/queue`: where a run's job stands in its class's queue, and how many live
 * workers could take it: what a person waiting for a run wants to know.
 */
export const RunQueueViewSchema: RunQueueViewSchemaType = runQueueViewSchema;
export type RunQueueView = z.infer<typeof RunQueueViewSchema>;

/** Runs one `GET /v1/runs/compare` compares at most (the API's 400 beyond; the dashboard's Compare button). */
export const COMPARE_MAX_RUNS = 20;

const runComparisonSchema = z.strictObject({
  names: z.array(z.string()),
  maxPoints: z.int(),
  runs: z.array(z.strictObject({ run: RunListItemViewSchema, series: z.array(MetricSeriesSchema) })),
});
export interface RunComparisonSchemaType extends Inferred<typeof runComparisonSchema> {}
/** `GET /v1/runs/compare`: each run's list row and its downsampled curves. */
export const RunComparisonSchema: RunComparisonSchemaType = runComparisonSchema;
export type RunComparison = z.infer<typeof RunComparisonSchema>;
