import { z } from 'zod';
import { DatasetLocationSchema } from './dataset.contract';
import { Id } from './wire';
import type { Inferred } from '../named-schema';

const activeRunsSchema = z.strictObject({
  count: z.int().min(1),
  /** At most ACTIVE_RUNS_LISTED of them. */
  ids: z.array(Id),
});
export interface ActiveRunsSchemaType extends Inferred<typeof activeRunsSchema> {}
/**
 * The runs not finished (QUEUED, RUNNING, PREEMPTED: a worker holds or will hold them) that keep a
 * dataset or a model version from being deleted: how many, and the first ids (oldest first). The
 * `409` of either DELETE carries it as `activeRuns`.
 */
export const ActiveRunsSchema: ActiveRunsSchemaType = activeRunsSchema;
export type ActiveRuns = z.infer<typeof ActiveRunsSchema>;

/** How many of the runs in the way a 409 names by id (`count` says how many there are). */
export const ACTIVE_RUNS_LISTED = 10;

const datasetDeletionSchema = z.strictObject({
  datasetId: Id,
  name: z.string(),
  location: DatasetLocationSchema,
  objects: z
    .strictObject({
      /** `store.uri` of the upload's folder. */
      prefix: z.string(),
      count: z.int().min(0),
      bytes: z.number().min(0),
      /** Versions packed from the upload (`npm run dataset:pack`), removed with their shards no other version uses. */
      packedVersions: z.int().min(0),
    })
    .nullable(),
  /** Finished runs that trained on it: they keep their history; none of them can run again. */
  finishedRuns: z.int().min(0),
});
export interface DatasetDeletionSchemaType extends Inferred<typeof datasetDeletionSchema> {}
/**
 * `DELETE /v1/datasets/:id`: the registration that was removed and, for a folder an upload stored
 * (`datasets/uploads/<id>/`), the objects removed with it. A folder of the user's own (a local path,
 * a prefix they registered) is never touched: `objects` is null.
 */
export const DatasetDeletionSchema: DatasetDeletionSchemaType = datasetDeletionSchema;
export type DatasetDeletion = z.infer<typeof DatasetDeletionSchema>;

const modelVersionDeletionSchema = z.strictObject({
  name: z.string(),
  project: z.string(),
  version: z.int().min(1),
  runId: Id,
  checkpointId: Id,
  remainingVersions: z.int().min(0),
});
export interface ModelVersionDeletionSchemaType extends Inferred<typeof modelVersionDeletionSchema> {}
/**
 * `DELETE /v1/models/:name/versions/:version`: the registry entry that was removed (its checkpoint
 * belongs to its run and stays), and how many versions of the name are left: at 0 the name is gone.
 */
export const ModelVersionDeletionSchema: ModelVersionDeletionSchemaType = modelVersionDeletionSchema;
export type ModelVersionDeletion = z.infer<typeof ModelVersionDeletionSchema>;
