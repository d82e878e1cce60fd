import { z } from 'zod';
import { PIPELINE_STATUSES, type PipelineSpec } from '../pipeline-spec.schema';
import { RunViewSchema } from './run.contract';
import { Id, NullableTimestamp, recorded, Timestamp } from './wire';
import type { Inferred } from '../named-schema';

const pipelineViewSchema = z.strictObject({
  id: Id,
  name: z.string(),
  project: z.string(),
  status: z.enum(PIPELINE_STATUSES),
  spec: recorded<PipelineSpec>('The PipelineSpec as submitted, defaults filled in'),
  /** Why it FAILED or was CANCELLED: the step and its reason, or the cancel request. */
  failureReason: z.string().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  endedAt: NullableTimestamp,
  /** In step order: pretrain, fine-tunes, evaluations. */
  runs: z.array(RunViewSchema),
});
export interface PipelineViewSchemaType extends Inferred<typeof pipelineViewSchema> {}
/** `GET /v1/pipelines/:id` (and what submit and cancel answer). */
export const PipelineViewSchema: PipelineViewSchemaType = pipelineViewSchema;
export type PipelineView = z.infer<typeof PipelineViewSchema>;
