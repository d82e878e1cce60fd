import { z } from 'zod';
import { Id, Timestamp } from './wire';
import type { Inferred } from '../named-schema';

const modelVersionViewSchema = z.strictObject({
  id: Id,
  name: z.string(),
  project: z.string(),
  version: z.int().min(1),
  runId: Id,
  checkpointId: Id,
  createdAt: Timestamp,
});
export interface ModelVersionViewSchemaType extends Inferred<typeof modelVersionViewSchema> {}
/** A version of a registered model: a SUCCEEDED run's checkpoint, pinned. */
export const ModelVersionViewSchema: ModelVersionViewSchemaType = modelVersionViewSchema;
export type ModelVersionView = z.infer<typeof ModelVersionViewSchema>;

const modelVersionRegisteredSchema = ModelVersionViewSchema.extend({
  checkpointSequence: z.int(),
  models: z.array(z.string()),
});
export interface ModelVersionRegisteredSchemaType extends Inferred<typeof modelVersionRegisteredSchema> {}
/** `POST /v1/models`: the new version, and which checkpoint (and models in it) it names. */
export const ModelVersionRegisteredSchema: ModelVersionRegisteredSchemaType = modelVersionRegisteredSchema;
export type ModelVersionRegistered = z.infer<typeof ModelVersionRegisteredSchema>;

/**
 * Versions one model name may hold at once (deleted ones do not count): `GET /v1/models/:name/versions`
 * answers them all at once, and each `POST /v1/models` of one run is a new version, so without a
 * bound one project's key could grow that answer without end (300,000 versions: 70 MB, 6 s).
 */
export const MODEL_VERSIONS_MAX_PER_NAME = 1_000;

const modelVersionsSchema = z.strictObject({ name: z.string(), versions: z.array(ModelVersionViewSchema) });
export interface ModelVersionsSchemaType extends Inferred<typeof modelVersionsSchema> {}
/** `GET /v1/models/:name/versions`, oldest first. */
export const ModelVersionsSchema: ModelVersionsSchemaType = modelVersionsSchema;
export type ModelVersions = z.infer<typeof ModelVersionsSchema>;
