import { z } from 'zod';
import { CHECKPOINT_STATUSES } from '../run-state';
import { Id, MeasuredValue, Timestamp } from './wire';
import type { Inferred } from '../named-schema';

const checkpointViewSchema = z.strictObject({
  id: Id,
  runId: Id,
  attemptId: Id.nullable(),
  sequence: z.int(),
  epoch: z.int(),
  step: z.int(),
  /** Object-store prefix of the checkpoint folder, e.g. s3://bucket/runs/<runId>/checkpoints/3/ */
  uri: z.string(),
  bytes: z.int(),
  /** sha256 of the manifest, which lists the sha256 of every file. */
  sha256: z.string(),
  status: z.enum(CHECKPOINT_STATUSES),
  /** e.g. ["autoencoder", "encoder"] or ["classifier"] */
  models: z.array(z.string()),
  createdAt: Timestamp,
  /** Why it was written: "interval", "final" or "preempt". */
  reason: z.string().nullable(),
  /** The metric retention judged it by when written (e.g. val_loss). */
  metricName: z.string().nullable(),
  metricValue: MeasuredValue,
});
export interface CheckpointViewSchemaType extends Inferred<typeof checkpointViewSchema> {}
export const CheckpointViewSchema: CheckpointViewSchemaType = checkpointViewSchema;
export type CheckpointView = z.infer<typeof CheckpointViewSchema>;

const runCheckpointsSchema = z.strictObject({ runId: Id, checkpoints: z.array(CheckpointViewSchema) });
export interface RunCheckpointsSchemaType extends Inferred<typeof runCheckpointsSchema> {}
/** `GET /v1/runs/:id/checkpoints`: every record of the run, whatever its status, by sequence. */
export const RunCheckpointsSchema: RunCheckpointsSchemaType = runCheckpointsSchema;
export type RunCheckpoints = z.infer<typeof RunCheckpointsSchema>;

const checkpointFilesSchema = z.strictObject({
  runId: Id,
  sequence: z.int(),
  files: z.array(z.strictObject({ file: z.string(), bytes: z.int() })),
});
export interface CheckpointFilesSchemaType extends Inferred<typeof checkpointFilesSchema> {}
/** `GET /v1/runs/:id/checkpoints/:sequence/files`: names to pass to `download?file=`. */
export const CheckpointFilesSchema: CheckpointFilesSchemaType = checkpointFilesSchema;
export type CheckpointFiles = z.infer<typeof CheckpointFilesSchema>;
