import { z } from 'zod';
import { PIPELINE_STATUSES } from '../pipeline-spec.schema';
import { RUN_STATUSES } from '../run-state';
import { ModelVersionViewSchema } from './model.contract';
import { Id, NullableTimestamp, Timestamp } from './wire';
import type { Inferred } from '../named-schema';

/** Runs by status (statuses with none left out). */
const RunCounts = z.partialRecord(z.enum(RUN_STATUSES), z.int());

/** The most items one page of a catalog list (datasets, models, pipelines, sweeps, keys) holds, and how many by default. */
export const CATALOG_LIST_MAX_LIMIT = 100;
export const CATALOG_LIST_DEFAULT_LIMIT = 25;

/** Pass as `cursor` for the next page; null on the last one. */
const NextCursor = z.string().nullable();

const pipelineSummarySchema = z.strictObject({
  id: Id,
  name: z.string(),
  project: z.string(),
  status: z.enum(PIPELINE_STATUSES),
  failureReason: z.string().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  endedAt: NullableTimestamp,
  /** Its steps (runs): pretrain, fine-tunes and evaluations. */
  steps: z.int(),
  counts: RunCounts,
});
export interface PipelineSummarySchemaType extends Inferred<typeof pipelineSummarySchema> {}
/** A row of `GET /v1/pipelines`: the pipeline without its spec and runs, with its runs counted by status. */
export const PipelineSummarySchema: PipelineSummarySchemaType = pipelineSummarySchema;
export type PipelineSummary = z.infer<typeof PipelineSummarySchema>;

const pipelineListSchema = z.strictObject({ items: z.array(PipelineSummarySchema), nextCursor: NextCursor });
export interface PipelineListSchemaType extends Inferred<typeof pipelineListSchema> {}
/** `GET /v1/pipelines`: newest first, a keyset page. */
export const PipelineListSchema: PipelineListSchemaType = pipelineListSchema;
export type PipelineList = z.infer<typeof PipelineListSchema>;

const sweepSummarySchema = z.strictObject({
  id: Id,
  name: z.string(),
  project: z.string(),
  createdAt: Timestamp,
  strategy: z.enum(['grid', 'random']),
  metric: z.string(),
  goal: z.enum(['max', 'min']),
  /** The parameter paths it varies, e.g. training.learningRate. */
  parameters: z.array(z.string()),
  runs: z.int(),
  counts: RunCounts,
});
export interface SweepSummarySchemaType extends Inferred<typeof sweepSummarySchema> {}
/** A row of `GET /v1/sweeps`: what it searches and how far its runs got (the leaderboard is on `GET /v1/sweeps/:id`). */
export const SweepSummarySchema: SweepSummarySchemaType = sweepSummarySchema;
export type SweepSummary = z.infer<typeof SweepSummarySchema>;

const sweepListSchema = z.strictObject({ items: z.array(SweepSummarySchema), nextCursor: NextCursor });
export interface SweepListSchemaType extends Inferred<typeof sweepListSchema> {}
/** `GET /v1/sweeps`: newest first, a keyset page. */
export const SweepListSchema: SweepListSchemaType = sweepListSchema;
export type SweepList = z.infer<typeof SweepListSchema>;

/** At most this many versions of a model are listed with it (the newest); `GET /v1/models/:name/versions` has all. */
export const MODEL_LIST_VERSIONS = 20;

const modelSummarySchema = z.strictObject({
  name: z.string(),
  project: z.string(),
  /** How many versions the name has. */
  versionCount: z.int().min(1),
  latestVersion: z.int().min(1),
  /** When its latest version was registered. */
  updatedAt: Timestamp,
  /** Newest first, at most MODEL_LIST_VERSIONS. */
  versions: z.array(ModelVersionViewSchema),
});
export interface ModelSummarySchemaType extends Inferred<typeof modelSummarySchema> {}
/** A row of `GET /v1/models`: a registered name and its newest versions, each naming the run that made it. */
export const ModelSummarySchema: ModelSummarySchemaType = modelSummarySchema;
export type ModelSummary = z.infer<typeof ModelSummarySchema>;

const modelListSchema = z.strictObject({ items: z.array(ModelSummarySchema), nextCursor: NextCursor });
export interface ModelListSchemaType extends Inferred<typeof modelListSchema> {}
/** `GET /v1/models`: by name, a keyset page. */
export const ModelListSchema: ModelListSchemaType = modelListSchema;
export type ModelList = z.infer<typeof ModelListSchema>;
