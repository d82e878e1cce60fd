import { z } from 'zod';
import { NameSchema, text } from './text.schema';
import type { Inferred } from './named-schema';

/** The last version number of a registered model a spec can name (nor is one past it given). */
export const MODEL_VERSION_MAX = 1_000_000;

const registeredModelRefSchema = z
  .object({
    name: NameSchema,
    version: z.int().min(1).max(MODEL_VERSION_MAX),
  })
  .strict();
export interface RegisteredModelRefSchemaType extends Inferred<typeof registeredModelRefSchema> {}
/** A version of a model named in the registry (`POST /v1/models`), e.g. `{ name: 'flowers', version: 3 }`. */
export const RegisteredModelRefSchema: RegisteredModelRefSchemaType = registeredModelRefSchema;
export type RegisteredModelRef = z.infer<typeof RegisteredModelRefSchema>;

const importedModelSchema = z
  .object({
    uri: text({ max: 2000, trim: false })
      .refine((u) => /^(s3|file):\/\//.test(u) || u.startsWith('/'), {
        message: 'expected s3://…, file://… or an absolute path to model.json',
      })
      // Exactly model.json, not `…/runsmodel.json`: its folder is where the weight files are read.
      .refine((u) => u.endsWith('/model.json'), {
        message: 'expected the URI of a file named model.json (…/model.json)',
      }),
    cutAtLayer: text({ max: 200, trim: false }).optional(),
  })
  .strict();
export interface ImportedModelSchemaType extends Inferred<typeof importedModelSchema> {}
/**
 * A TF.js LayersModel made elsewhere (a Keras VGG16 or MobileNet run through
 * tensorflowjs_converter): `uri` is an object-store URI of its model.json (`s3://bucket/…/model.json`,
 * `file:///…/model.json`) or an absolute path to it on the worker. The base is the model cut at
 * `cutAtLayer`'s output; without it, at the last layer before the model's top dense layers.
 */
export const ImportedModelSchema: ImportedModelSchemaType = importedModelSchema;
export type ImportedModelSpec = z.infer<typeof ImportedModelSchema>;

const freezingSchema = z
  .object({
    mode: z.enum(['none', 'base', 'two-stage']).default('none'),
    unfreezeTopLayers: z.int().min(1).max(1000).default(2),
    unfreezeAfterEpochs: z.int().min(1).max(1000).default(1),
    fineTuneLearningRate: z.number().positive().max(1).optional(),
  })
  .strict();
export interface FreezingSchemaType extends Inferred<typeof freezingSchema> {}
/**
 * Which base layers train. 'none': all of them; 'base': none (only the head learns); 'two-stage':
 * the Keras recipe — the head alone for `unfreezeAfterEpochs` epochs, then the top
 * `unfreezeTopLayers` base layers that hold weights train too, at `fineTuneLearningRate`
 * (default: a tenth of `training.learningRate`).
 */
export const FreezingSchema: FreezingSchemaType = freezingSchema;
export type FreezingSpec = z.infer<typeof FreezingSchema>;

/** The freezing a classifier trains with, `freezeBase: true` (the older field) read as mode 'base'. */
export function effectiveFreezing(model: { freezing: FreezingSpec; freezeBase: boolean }): FreezingSpec {
  return model.freezeBase && model.freezing.mode === 'none' ? { ...model.freezing, mode: 'base' } : model.freezing;
}

/** Where a fine-tune's base comes from; 'scratch' builds the encoder of the spec. */
export type ClassifierBase =
  | { kind: 'scratch' }
  | { kind: 'run'; runId: string }
  | { kind: 'registered'; model: RegisteredModelRef }
  | { kind: 'imported'; model: ImportedModelSpec };

export function classifierBase(model: {
  baseRunId: string | null;
  baseModel?: RegisteredModelRef;
  importedModel?: ImportedModelSpec;
}): ClassifierBase {
  if (model.baseRunId) return { kind: 'run', runId: model.baseRunId };
  if (model.baseModel) return { kind: 'registered', model: model.baseModel };
  if (model.importedModel) return { kind: 'imported', model: model.importedModel };
  return { kind: 'scratch' };
}
