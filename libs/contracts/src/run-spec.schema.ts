import { z } from 'zod';
import { AugmentationSpecSchema } from './augmentation.schema';
import { FreezingSchema, ImportedModelSchema, RegisteredModelRefSchema } from './classifier-base.schema';
import { DatasetSpecSchema } from './dataset.schema';
import { EvaluateSpecSchema } from './evaluate-spec.schema';
import { ONLY_WHEN_VALID } from './schema-guards';
import { NameSchema } from './text.schema';

const Dimension = z.int().min(8).max(256);

export const TrainingSpecSchema = z
  .object({
    epochs: z.int().min(1).max(1000).default(5),
    batchSize: z.int().min(1).max(1024).default(32),
    optimizer: z.enum(['adam', 'sgd', 'rmsprop']).default('adam'),
    learningRate: z.number().positive().max(1).default(1e-3),
    validationSplit: z.number().min(0).max(0.5).default(0.1),
    seed: z.int().min(0).max(2 ** 31 - 1).default(42),
  })
  .strict();
export type TrainingSpec = z.infer<typeof TrainingSpecSchema>;

export const CheckpointSpecSchema = z
  .object({
    /** A checkpoint every N epochs; the final one is always written. */
    everyEpochs: z.int().min(1).max(1000).default(1),
  })
  .strict();
export type CheckpointSpec = z.infer<typeof CheckpointSpecSchema>;

/**
 * Encoder: one `conv(filters[i], 3×3, relu) → maxPool(2)` block per entry of `filters`, then a
 * dense latent layer. The decoder mirrors it with transposed convolutions.
 */
const encoderArchitecture = {
  inputShape: z.tuple([Dimension, Dimension, z.union([z.literal(1), z.literal(3)])]).default([28, 28, 1]),
  filters: z.array(z.int().min(1).max(256)).min(1).max(4).default([16, 32]),
  latentDim: z.int().min(2).max(1024).default(64),
};

export const ConvAutoencoderSchema = z
  .object({ type: z.literal('conv-autoencoder'), ...encoderArchitecture })
  .strict();
export type ConvAutoencoderSpec = z.infer<typeof ConvAutoencoderSchema>;

/**
 * Encoder (the base) → optional hidden dense + dropout → `dense(numClasses, softmax)`. The base is
 * one of: a pretrain run's encoder (`baseRunId`), a registered model version (`baseModel`), an
 * imported TF.js LayersModel (`importedModel`), or none (a fresh encoder of the architecture
 * below, which is ignored with a base: the base brings its own).
 */
export const ClassifierSchema = z
  .object({
    type: z.literal('classifier'),
    /** Pretrain run whose encoder is the base; null trains the same encoder from scratch. */
    baseRunId: z.uuid().nullable().default(null),
    baseModel: RegisteredModelRefSchema.optional(),
    importedModel: ImportedModelSchema.optional(),
    ...encoderArchitecture,
    /** Units of an optional hidden dense layer before the softmax; 0 for none. */
    headUnits: z.int().min(0).max(4096).default(0),
    dropout: z.number().min(0).max(0.9).default(0),
    freezing: FreezingSchema.prefault({}),
    /** Older form of `freezing: { mode: 'base' }`, still accepted. */
    freezeBase: z.boolean().default(false),
  })
  .strict()
  .superRefine((model, ctx) => {
    const bases = (['baseRunId', 'baseModel', 'importedModel'] as const).filter((k) => model[k] !== undefined && model[k] !== null);
    if (bases.length > 1) {
      ctx.addIssue({ code: 'custom', path: [bases[1]], message: `A classifier has one base: ${bases.join(' and ')} were both given` });
    }
    if (model.freezeBase && model.freezing.mode === 'two-stage') {
      ctx.addIssue({ code: 'custom', path: ['freezeBase'], message: "freezeBase conflicts with freezing.mode 'two-stage'; drop freezeBase" });
    }
  }, ONLY_WHEN_VALID);
export type ClassifierSpec = z.infer<typeof ClassifierSchema>;

export const PretrainSpecSchema = z
  .object({
    kind: z.literal('pretrain'),
    name: NameSchema,
    dataset: DatasetSpecSchema,
    model: ConvAutoencoderSchema.prefault({ type: 'conv-autoencoder' }),
    training: TrainingSpecSchema.prefault({}),
    checkpoint: CheckpointSpecSchema.prefault({}),
  })
  .strict();
export type PretrainSpec = z.infer<typeof PretrainSpecSchema>;

export const FinetuneSpecSchema = z
  .object({
    kind: z.literal('finetune'),
    name: NameSchema,
    dataset: DatasetSpecSchema,
    model: ClassifierSchema.prefault({ type: 'classifier' }),
    /** On-the-fly augmentation of training batches (Keras ImageDataGenerator names); none when absent. */
    augmentation: AugmentationSpecSchema.optional(),
    training: TrainingSpecSchema.prefault({}),
    checkpoint: CheckpointSpecSchema.prefault({}),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const freezing = spec.model.freezing;
    if (freezing.mode === 'two-stage' && freezing.unfreezeAfterEpochs >= spec.training.epochs) {
      ctx.addIssue({
        code: 'custom',
        path: ['model', 'freezing', 'unfreezeAfterEpochs'],
        message: `Must be below training.epochs (${spec.training.epochs}), or the second stage never starts`,
      });
    }
  }, ONLY_WHEN_VALID);
export type FinetuneSpec = z.infer<typeof FinetuneSpecSchema>;

export const RunSpecSchema = z.discriminatedUnion('kind', [PretrainSpecSchema, FinetuneSpecSchema, EvaluateSpecSchema]);
export type RunSpec = z.infer<typeof RunSpecSchema>;
/** What a client sends: every defaulted field may be left out. */
export type RunSpecInput = z.input<typeof RunSpecSchema>;
/** The kinds that train a model (evaluation runs only read one). */
export type TrainingRunSpec = PretrainSpec | FinetuneSpec;

export interface FieldError {
  /** Dotted path of the offending field, e.g. `training.learningRate`. */
  field: string;
  message: string;
}

export type SpecParseResult = { ok: true; spec: RunSpec } | { ok: false; errors: FieldError[] };

/** Validates a submitted spec, returning every bad field with its path. */
export function parseRunSpec(input: unknown): SpecParseResult {
  const result = RunSpecSchema.safeParse(input);
  if (result.success) return { ok: true, spec: result.data };
  return { ok: false, errors: fieldErrorsOf(result.error) };
}

/** Zod issues as `{ field, message }` with dotted paths, the shape of every 400 of the API. */
export function fieldErrorsOf(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    // An unknown key is reported at its parent; name the key itself so the client sees which.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: [...path, key].join('.'), message: 'Unknown field' }));
    }
    return [{ field: path.length ? path.join('.') : '(root)', message: issue.message }];
  });
}
