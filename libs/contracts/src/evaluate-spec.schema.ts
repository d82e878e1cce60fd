import { z } from 'zod';
import { DatasetSpecSchema } from './dataset.schema';
import { PrioritySchema, ResourcesSchema } from './resources.schema';
import { NameSchema } from './text.schema';
import type { Inferred } from './named-schema';

export const EVALUATION_SPLITS = ['test', 'validation', 'train'] as const;
export type EvaluationSplit = (typeof EVALUATION_SPLITS)[number];

const evaluateSpecSchema = z
  .object({
    kind: z.literal('evaluate'),
    name: NameSchema,
    checkpoint: z
      .object({
        runId: z.uuid().toLowerCase(),
        sequence: z.int().min(0).max(2_147_483_647).optional(),
      })
      .strict(),
    dataset: DatasetSpecSchema.optional(),
    split: z.enum(EVALUATION_SPLITS).default('test'),
    /** Top-k accuracy's k (capped at the number of classes). */
    topK: z.int().min(1).max(100).default(5),
    batchSize: z.int().min(1).max(1024).default(64),
    resources: ResourcesSchema.optional(),
    priority: PrioritySchema.optional(),
  })
  .strict();
export interface EvaluateSpecSchemaType extends Inferred<typeof evaluateSpecSchema> {}
/**
 * An evaluation run: a classifier checkpoint of a fine-tune run on a dataset split. Without
 * `checkpoint.sequence`, the run's best checkpoint by its selection metric when its result records
 * one, else its latest COMPLETE one (pinned at submit); without
 * `dataset`, the evaluated run's own dataset (same split, so `test` is its held-out test set).
 */
export const EvaluateSpecSchema: EvaluateSpecSchemaType = evaluateSpecSchema;
export type EvaluateSpec = z.infer<typeof EvaluateSpecSchema>;
