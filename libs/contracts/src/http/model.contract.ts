import { z } from 'zod';
import { Id, Timestamp } from './wire';

/** A version of a registered model: a SUCCEEDED run's checkpoint, pinned. */
export const ModelVersionViewSchema = z.strictObject({
  id: Id,
  name: z.string(),
  project: z.string(),
  version: z.int().min(1),
  runId: Id,
  checkpointId: Id,
  createdAt: Timestamp,
});
export type ModelVersionView = z.infer<typeof ModelVersionViewSchema>;

/** `POST /v1/models`: the new version, and which checkpoint (and models in it) it names. */
export const ModelVersionRegisteredSchema = ModelVersionViewSchema.extend({
  checkpointSequence: z.int(),
  models: z.array(z.string()),
});
export type ModelVersionRegistered = z.infer<typeof ModelVersionRegisteredSchema>;

/** `GET /v1/models/:name/versions`, oldest first. */
export const ModelVersionsSchema = z.strictObject({ name: z.string(), versions: z.array(ModelVersionViewSchema) });
export type ModelVersions = z.infer<typeof ModelVersionsSchema>;
