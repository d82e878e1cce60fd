import { z } from 'zod';
import { AugmentationSpecSchema } from './augmentation.schema';
import {
  builtInAutoencoder,
  builtInEncoder,
  builtInHead,
  type BuiltInPart,
  checkBuiltInParts,
  encodedSize,
} from './built-in-models';
import {
  classifierBase,
  FreezingSchema,
  ImportedModelSchema,
  RegisteredModelRefSchema,
} from './classifier-base.schema';
import { Channels, datasetClassCount, datasetImageShape, DatasetSpecSchema, sameShape } from './dataset.schema';
import { EvaluateSpecSchema } from './evaluate-spec.schema';
import { type FieldError, fieldErrorsOf } from './field-errors';
import { checkClassifierLayers, checkLayersAutoencoder } from './layers-model';
import { inferTopology, type LayersTopology, LayersTopologySchema } from './layers-topology';
import { PrioritySchema, ResourcesSchema } from './resources.schema';
import { isObject, ONLY_WHEN_VALID } from './schema-guards';
import { NameSchema } from './text.schema';
import { checkValidationRules, type TrainingSpec, TrainingSpecSchema } from './training-spec.schema';
import type { Inferred } from './named-schema';

/**
 * The ranges of the built-in encoder's fields (inputShape's sides, filters' blocks and their
 * filters, latentDim) and of the built-in head's: the schema's, and what a stored spec read
 * without it is held to (training-memory.ts).
 */
export const ENCODER_LIMITS = {
  side: { min: 8, max: 256 },
  blocks: { min: 1, max: 4 },
  filters: { min: 1, max: 256 },
  latentDim: { min: 2, max: 1024 },
} as const;
export const HEAD_LIMITS = { headUnits: { min: 0, max: 4096 }, dropout: { min: 0, max: 0.9 } } as const;
/** Pixels a side the built-in encoder takes. */
const ENCODER_SIDE = ENCODER_LIMITS.side;
const Dimension = z.int().min(ENCODER_SIDE.min).max(ENCODER_SIDE.max);
/** The built-in encoder's input when a spec leaves `inputShape` out and its dataset is unreadable (the schema then names the dataset). */
const DEFAULT_INPUT_SHAPE: [number, number, 1] = [28, 28, 1];

const checkpointSpecSchema = z
  .object({
    /** A checkpoint every N epochs; the final one is always written. */
    everyEpochs: z.int().min(1).max(1000).default(1),
  })
  .strict();
export interface CheckpointSpecSchemaType extends Inferred<typeof checkpointSpecSchema> {}
export const CheckpointSpecSchema: CheckpointSpecSchemaType = checkpointSpecSchema;
export type CheckpointSpec = z.infer<typeof CheckpointSpecSchema>;

/**
 * Encoder: one `conv(filters[i], 3×3, relu) → maxPool(2)` block per entry of `filters`, then a
 * dense latent layer (`latentActivation`: 'relu', the original, or 'linear'). The decoder mirrors
 * it with transposed convolutions.
 */
/** The built-in encoder's architecture where a spec leaves it out (withBaseArchitecture reads them too). */
export const ENCODER_DEFAULTS = { filters: [16, 32], latentDim: 64, latentActivation: 'relu' } as const;

const encoderArchitecture = {
  /** [height, width, channels] of the images; left out, the dataset's (withDatasetInputShape), else 28×28×1. */
  inputShape: z
    .tuple([Dimension, Dimension, Channels])
    .default(DEFAULT_INPUT_SHAPE)
    .describe("[height, width, channels] of the images the encoder takes; left out, the dataset's image shape"),
  filters: z
    .array(z.int().min(ENCODER_LIMITS.filters.min).max(ENCODER_LIMITS.filters.max))
    .min(ENCODER_LIMITS.blocks.min)
    .max(ENCODER_LIMITS.blocks.max)
    .default(() => [...ENCODER_DEFAULTS.filters]),
  latentDim: z
    .int()
    .min(ENCODER_LIMITS.latentDim.min)
    .max(ENCODER_LIMITS.latentDim.max)
    .default(ENCODER_DEFAULTS.latentDim),
  latentActivation: z.enum(['relu', 'linear']).default(ENCODER_DEFAULTS.latentActivation),
};

const convAutoencoderSchema = z
  .object({
    type: z.literal('conv-autoencoder'),
    ...encoderArchitecture,
    loss: z.enum(['mse', 'binaryCrossentropy']).default('mse'),
  })
  .strict();
export interface ConvAutoencoderSchemaType extends Inferred<typeof convAutoencoderSchema> {}
/**
 * `loss`: the reconstruction loss, 'mse' (the original) or 'binaryCrossentropy' (pixels in [0, 1]
 * read as probabilities; a sigmoid decoder with no dense bottleneck that stalls at the mean image
 * under MSE trains under it).
 */
export const ConvAutoencoderSchema: ConvAutoencoderSchemaType = convAutoencoderSchema;
export type ConvAutoencoderSpec = z.infer<typeof ConvAutoencoderSchema>;

const layersAutoencoderSchema = z
  .object({
    type: z.literal('layers-autoencoder'),
    encoder: LayersTopologySchema,
    decoder: LayersTopologySchema,
    loss: z.enum(['mse', 'binaryCrossentropy']).default('mse'),
  })
  .strict();
export interface LayersAutoencoderSchemaType extends Inferred<typeof layersAutoencoderSchema> {}
/**
 * An autoencoder the spec brings as two TF.js Sequential topologies (docs/training.md, "Your own
 * architecture"): `encoder` (its first layer declares the image shape) feeds `decoder`, which
 * must give back the encoder's input shape (ending in a sigmoid under binary cross-entropy). The
 * checkpoints hold the encoder whole, so a fine-tune of the run uses it whole as its base.
 */
export const LayersAutoencoderSchema: LayersAutoencoderSchemaType = layersAutoencoderSchema;
export type LayersAutoencoderSpec = z.infer<typeof LayersAutoencoderSchema>;
const autoencoderSchema = z.discriminatedUnion('type', [ConvAutoencoderSchema, LayersAutoencoderSchema]);
export interface AutoencoderSchemaType extends Inferred<typeof autoencoderSchema> {}
export const AutoencoderSchema: AutoencoderSchemaType = autoencoderSchema;
export type AutoencoderSpec = z.infer<typeof AutoencoderSchema>;

/** The image shape an autoencoder takes: the built-in one's `inputShape`, a topology's first layer's. */
export function autoencoderInputShape(model: AutoencoderSpec): [number, number, number] {
  if (model.type === 'conv-autoencoder') return model.inputShape;
  return topologyInputShape(model.encoder) as [number, number, number];
}

/** The input a topology's first layer declares (per image), or null when it declares none. */
export function topologyInputShape(topology: LayersTopology): number[] | null {
  const declared = topology.config.layers[0]?.config.batch_input_shape;
  return declared ? (declared.slice(1) as number[]) : null;
}

const classifierLayersSchema = z
  .object({
    base: LayersTopologySchema.optional(),
    head: LayersTopologySchema.optional(),
  })
  .strict();
export interface ClassifierLayersSchemaType extends Inferred<typeof classifierLayersSchema> {}
/** A classifier's own topologies: a base trained from scratch in place of the built-in encoder, and a head in place of the built-in head. */
const ClassifierLayersSchema: ClassifierLayersSchemaType = classifierLayersSchema;

const classifierSchema = z
  .object({
    type: z.literal('classifier'),
    /** Pretrain run whose encoder is the base; null trains the same encoder from scratch. */
    baseRunId: z.uuid().toLowerCase().nullable().default(null),
    baseModel: RegisteredModelRefSchema.optional(),
    importedModel: ImportedModelSchema.optional(),
    ...encoderArchitecture,
    /**
     * Where an encoder base (a pretrain run's, a registered pretrain's, or the fresh one) is cut:
     * 'conv' after its convolutions (the default), 'latent' after its dense latent layer. A
     * fine-tuned classifier registered as a base is cut below its head unless this is given; an
     * imported model is cut at `importedModel.cutAtLayer`.
     */
    cutAt: z.enum(['conv', 'latent']).optional(),
    /** Normalisation between the base's (flattened) features and the head: 'batchNorm' or 'none'. */
    headNorm: z.enum(['batchNorm', 'none']).default('batchNorm'),
    /** Units of an optional hidden dense layer before the softmax; 0 for none. */
    headUnits: z.int().min(HEAD_LIMITS.headUnits.min).max(HEAD_LIMITS.headUnits.max).default(0),
    dropout: z.number().min(HEAD_LIMITS.dropout.min).max(HEAD_LIMITS.dropout.max).default(0),
    freezing: FreezingSchema.prefault({}),
    /**
     * The spec's own architecture: `base` (a Sequential topology, trained from scratch, instead of
     * the built-in encoder; not with baseRunId, baseModel or importedModel) and/or `head` (fed the
     * base's features as they are, ending in a softmax over the classes, instead of the built-in
     * head, whose headNorm, headUnits and dropout then do not apply).
     */
    layers: ClassifierLayersSchema.optional(),
    /** Older form of `freezing: { mode: 'base' }`, still accepted. */
    freezeBase: z.boolean().default(false),
  })
  .strict()
  .superRefine((model, ctx) => {
    const bases = (['baseRunId', 'baseModel', 'importedModel'] as const).filter(
      (k) => model[k] !== undefined && model[k] !== null,
    );
    if (bases.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [bases[1]],
        message: `A classifier has one base: ${bases.join(' and ')} were both given`,
      });
    }
    if (model.layers?.base && bases.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['layers', 'base'],
        message: `A classifier has one base: layers.base and ${bases[0]} were both given`,
      });
    }
    if (model.cutAt !== undefined && model.layers?.base) {
      ctx.addIssue({ code: 'custom', path: ['cutAt'], message: 'layers.base is used whole; drop cutAt' });
    }
    if (model.cutAt !== undefined && model.importedModel !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['cutAt'],
        message: 'An imported model is cut at importedModel.cutAtLayer; drop cutAt',
      });
    }
    if (model.freezeBase && model.freezing.mode === 'two-stage') {
      ctx.addIssue({
        code: 'custom',
        path: ['freezeBase'],
        message: "freezeBase conflicts with freezing.mode 'two-stage'; drop freezeBase",
      });
    }
  }, ONLY_WHEN_VALID);
export interface ClassifierSchemaType extends Inferred<typeof classifierSchema> {}
/**
 * Encoder (the base) → optional hidden dense + dropout → `dense(numClasses, softmax)`. The base is
 * one of: a pretrain run's encoder (`baseRunId`), a registered model version (`baseModel`), an
 * imported TF.js LayersModel (`importedModel`), or none (a fresh encoder of the architecture
 * below, which is ignored with a base: the base brings its own).
 */
export const ClassifierSchema: ClassifierSchemaType = classifierSchema;
export type ClassifierSpec = z.infer<typeof ClassifierSchema>;

/** Where and when the run's job runs: its resource class and priority (resources.schema.ts). */
const placement = {
  resources: ResourcesSchema.optional(),
  priority: PrioritySchema.optional(),
};

const pretrainSpecObject = z
  .object({
    kind: z.literal('pretrain'),
    name: NameSchema,
    dataset: DatasetSpecSchema,
    model: AutoencoderSchema.prefault({ type: 'conv-autoencoder' }),
    training: TrainingSpecSchema.prefault({}),
    checkpoint: CheckpointSpecSchema.prefault({}),
    ...placement,
  })
  .strict()
  .superRefine((spec, ctx) => {
    // The training process streams only labelled images (streamed-run-data.ts): refused here, not after queueing.
    if (spec.dataset.name === 'image-folder' && spec.dataset.stream)
      ctx.addIssue({
        code: 'custom',
        path: ['dataset', 'stream'],
        message: 'A pretrain trains on the image folder itself: dataset.stream is for fine-tunes and evaluations',
      });
    if (spec.model.type === 'layers-autoencoder')
      checkLayersAutoencoder(ctx, ['model'], spec.model, datasetImageShape(spec.dataset));
    else {
      if (builtInEncoderTakes(spec.dataset, "bring the encoder (model.type 'layers-autoencoder')", ctx))
        checkEncoderImages(spec.model.inputShape, spec.dataset, ctx);
      checkBuiltInParts(ctx, builtInParts(spec));
    }
    checkValidationRules(
      'pretrain',
      spec.training,
      { value: spec.training.validationSplit, field: 'training.validationSplit' },
      ctx,
    );
  }, ONLY_WHEN_VALID);
export interface PretrainSpecObjectType extends Inferred<typeof pretrainSpecObject> {}
const PretrainSpecObject: PretrainSpecObjectType = pretrainSpecObject;
const pretrainSpecSchema = z.preprocess((v) => withDatasetInputShape(v, 'pretrain'), PretrainSpecObject);
export interface PretrainSpecSchemaType extends Inferred<typeof pretrainSpecSchema> {}
export const PretrainSpecSchema: PretrainSpecSchemaType = pretrainSpecSchema;
export type PretrainSpec = z.infer<typeof PretrainSpecSchema>;

const finetuneFields = z
  .object({
    kind: z.literal('finetune'),
    name: NameSchema,
    dataset: DatasetSpecSchema,
    model: ClassifierSchema.prefault({ type: 'classifier' }),
    /** On-the-fly augmentation of training batches (Keras ImageDataGenerator names); none when absent. */
    augmentation: AugmentationSpecSchema.optional(),
    training: TrainingSpecSchema.prefault({}),
    checkpoint: CheckpointSpecSchema.prefault({}),
    ...placement,
  })
  .strict();
export interface FinetuneFieldsType extends Inferred<typeof finetuneFields> {}
/** A fine-tune's fields; its rules are finetuneRules'. */
const FinetuneFields: FinetuneFieldsType = finetuneFields;

/**
 * The rules of a fine-tune, as a run or a sweep's base (`run`), or as a pipeline's step: written
 * without a base, a step builds on the pipeline's pretrain (filled in when that SUCCEEDS), never
 * on the built-in encoder, and the pipeline holds its images against the pretrain's encoder instead.
 */
function finetuneRules(where: 'run' | 'pipeline step') {
  return (spec: z.infer<typeof FinetuneFields>, ctx: z.core.$RefinementCtx<unknown>): void => {
    const freezing = spec.model.freezing;
    // A steps budget's epochs depend on the data: the fine-tune checks it once the data is loaded.
    const epochs = spec.training.epochs;
    if (freezing.mode === 'two-stage' && epochs !== undefined && freezing.unfreezeAfterEpochs >= epochs) {
      ctx.addIssue({
        code: 'custom',
        path: ['model', 'freezing', 'unfreezeAfterEpochs'],
        message: `Must be below training.epochs (${epochs}), or the second stage never starts`,
      });
    }
    checkValidationRules('finetune', spec.training, finetuneValidation(spec), ctx);
    if (spec.model.layers)
      checkClassifierLayers(ctx, ['model', 'layers'], spec.model.layers, {
        imageShape: datasetImageShape(spec.dataset),
        classes: datasetClassCount(spec.dataset),
        features: classifierBase(spec.model).kind === 'scratch' ? scratchFeatures(spec.model) : null,
      });
    if (where === 'run') checkScratchEncoderImages(spec, ctx);
    checkBuiltInParts(ctx, builtInParts(spec));
  };
}
const finetuneSpecObject = FinetuneFields.superRefine(finetuneRules('run'), ONLY_WHEN_VALID);
export interface FinetuneSpecObjectType extends Inferred<typeof finetuneSpecObject> {}
const FinetuneSpecObject: FinetuneSpecObjectType = finetuneSpecObject;
const finetuneSpecSchema = z.preprocess((v) => withDatasetInputShape(v, 'finetune'), FinetuneSpecObject);
export interface FinetuneSpecSchemaType extends Inferred<typeof finetuneSpecSchema> {}
export const FinetuneSpecSchema: FinetuneSpecSchemaType = finetuneSpecSchema;
export type FinetuneSpec = z.infer<typeof FinetuneSpecSchema>;
const finetuneStepSpecSchema = z.preprocess(
  (v) => withDatasetInputShape(v, 'finetune'),
  FinetuneFields.superRefine(finetuneRules('pipeline step'), ONLY_WHEN_VALID),
);
export interface FinetuneStepSpecSchemaType extends Inferred<typeof finetuneStepSpecSchema> {}
/** A pipeline's fine-tune step (finetuneRules). */
export const FinetuneStepSpecSchema: FinetuneStepSpecSchemaType = finetuneStepSpecSchema;

const BUILT_IN_MODEL = { pretrain: 'conv-autoencoder', finetune: 'classifier' } as const;

/**
 * A `model` without `type` is the kind's built-in model (`{ "headUnits": 32 }` is a classifier's),
 * as a `model` left out is. A built-in model's `inputShape` left out is the dataset's image shape
 * (MNIST's 28×28×1, the shapes' `imageSize` and `channels`, an image folder's `imageShape`),
 * filled in before the spec is checked: a model built for other images than its dataset's could
 * only fail in the worker. Given, it is the spec's (and held against the dataset). Anything
 * unreadable is left to the schema to name.
 */
function withDatasetInputShape(raw: unknown, kind: keyof typeof BUILT_IN_MODEL): unknown {
  if (!isObject(raw)) return raw;
  const given = raw['model'];
  const model =
    given === undefined || (isObject(given) && given['type'] === undefined)
      ? { type: BUILT_IN_MODEL[kind], ...(given as object | undefined) }
      : given;
  const typed = model === given ? raw : { ...raw, model };
  if (!isObject(model) || model['type'] !== BUILT_IN_MODEL[kind] || model['inputShape'] !== undefined) return typed;
  // A fine-tune on a base (or its own layers.base) builds no built-in encoder: its inputShape is not used.
  const layers = model['layers'];
  const base = ['baseRunId', 'baseModel', 'importedModel'].some((field) => model[field] != null);
  if (base || (isObject(layers) && layers['base'] !== undefined)) return typed;
  const dataset = DatasetSpecSchema.safeParse(raw['dataset']);
  const shape = dataset.success ? datasetImageShape(dataset.data) : null;
  // Images the built-in encoder cannot take (an image folder past 256 pixels a side) keep the default:
  // the spec is refused at dataset.imageShape (builtInEncoderTakes), not at a shape it never gave.
  const fits = shape !== null && Dimension.safeParse(shape[0]).success && Dimension.safeParse(shape[1]).success;
  return fits ? { ...raw, model: { ...model, inputShape: shape } } : typed;
}

/** A fine-tune that builds the built-in encoder takes the dataset's images as they are (checkEncoderImages). */
function checkScratchEncoderImages(spec: FinetuneSpec, ctx: z.core.$RefinementCtx<unknown>): void {
  if (classifierBase(spec.model).kind !== 'scratch' || spec.model.layers?.base) return;
  const base = 'use a base (model.baseRunId, model.baseModel, model.importedModel or model.layers.base)';
  if (builtInEncoderTakes(spec.dataset, base, ctx)) checkEncoderImages(spec.model.inputShape, spec.dataset, ctx);
}

/**
 * Whether the built-in encoder (its `inputShape`: 8–256 pixels a side) can take the dataset's
 * images; when it cannot (an image folder's `imageShape` goes up to 512), no `inputShape` would
 * do, and the spec is refused at `dataset.imageShape` with the two ways out: `instead` (a model
 * of the spec's own, or a base), or smaller images. A worker would only refuse it once the data
 * is loaded.
 */
function builtInEncoderTakes(
  dataset: z.infer<typeof DatasetSpecSchema>,
  instead: string,
  ctx: z.core.$RefinementCtx<unknown>,
): boolean {
  const images = datasetImageShape(dataset);
  if (!images || (Dimension.safeParse(images[0]).success && Dimension.safeParse(images[1]).success)) return true;
  const { min, max } = ENCODER_SIDE;
  ctx.addIssue({
    code: 'custom',
    path: ['dataset', 'imageShape'],
    message: `The built-in encoder takes ${min}–${max} pixels a side; this dataset's images are ${images.join('×')}: ${instead}, or resize them (a dataset.imageShape of at most ${max}×${max})`,
  });
  return false;
}

/**
 * A built-in encoder's `inputShape` (a pretrain's autoencoder, a fine-tune's fresh encoder) must be
 * the dataset's image shape, refused here rather than by a worker once it has loaded the data (left
 * out, it is that shape: withDatasetInputShape). [28, 28, 1] is not held against other images:
 * specs stored before the shape followed the dataset hold it as the default they were given.
 */
function checkEncoderImages(
  input: readonly number[],
  dataset: z.infer<typeof DatasetSpecSchema>,
  ctx: z.core.$RefinementCtx<unknown>,
): void {
  const images = datasetImageShape(dataset);
  if (!images || sameShape(input, images) || sameShape(input, DEFAULT_INPUT_SHAPE)) return;
  ctx.addIssue({
    code: 'custom',
    path: ['model', 'inputShape'],
    message: `The encoder takes images of ${input.join('×')} but the dataset's are ${images.join('×')}`,
  });
}

/**
 * The features a from-scratch classifier's base gives its head: a `layers.base` topology's output,
 * else the built-in encoder's at `cutAt` (the last pooling layer's maps, or the latent vector).
 */
export function scratchFeatures(model: ClassifierSpec): number[] | null {
  if (model.layers?.base) {
    const inferred = inferTopology(model.layers.base);
    return inferred.ok ? inferred.inferred.outputShape : null;
  }
  if ((model.cutAt ?? 'conv') === 'latent') return [model.latentDim];
  const [h, w] = model.inputShape;
  const n = model.filters.length;
  return [encodedSize(h, n), encodedSize(w, n), model.filters[n - 1]!];
}

/**
 * The built-in models a spec has built, as Sequential topologies (built-in-models.ts): a
 * conv-autoencoder pretrain's; a fine-tune's fresh encoder when it has no base (a pretrain run's,
 * registered or imported base is counted where it was made, or by the training process), and its
 * built-in head on features the spec decides. An image folder's classes are only known from the
 * folder: its head is counted with two, the fewest a folder has.
 */
export function builtInParts(spec: RunSpec): BuiltInPart[] {
  if (spec.kind === 'pretrain') return spec.model.type === 'conv-autoencoder' ? [builtInAutoencoder(spec.model)] : [];
  if (spec.kind !== 'finetune') return [];
  const { model } = spec;
  const scratch = classifierBase(model).kind === 'scratch';
  const parts: BuiltInPart[] = [];
  if (scratch && !model.layers?.base) parts.push(builtInEncoder(model));
  const features = scratch ? scratchFeatures(model) : null;
  if (!model.layers?.head && features) {
    const featuresField = model.layers?.base
      ? 'model.layers.base'
      : (model.cutAt ?? 'conv') === 'latent'
        ? 'model.latentDim'
        : 'model.filters';
    parts.push(builtInHead(model, features, featuresField, datasetClassCount(spec.dataset) ?? 2));
  }
  return parts;
}

/** A topology of a spec, where it sits in the spec (or what built-in part it is), the input it is fed when the spec decides it, and the field that sizes each layer of a built-in one. */
export interface SpecTopology {
  field: string;
  topology: LayersTopology;
  input?: number[];
  layerFields?: string[];
}

/** The topologies a spec's model is built of: those the spec brings, then its built-in parts (builtInParts). */
export function specTopologies(spec: RunSpec): SpecTopology[] {
  return [...ownTopologies(spec), ...builtInParts(spec)];
}

/** The topologies a spec brings, where each sits in the spec and the input it is fed when the spec decides it. */
function ownTopologies(spec: RunSpec): SpecTopology[] {
  if (spec.kind === 'pretrain' && spec.model.type === 'layers-autoencoder') {
    const encoder = inferTopology(spec.model.encoder);
    return [
      { field: 'model.encoder', topology: spec.model.encoder },
      {
        field: 'model.decoder',
        topology: spec.model.decoder,
        ...(encoder.ok ? { input: encoder.inferred.outputShape } : {}),
      },
    ];
  }
  if (spec.kind !== 'finetune' || !spec.model.layers) return [];
  const { base, head } = spec.model.layers;
  const features = classifierBase(spec.model).kind === 'scratch' ? scratchFeatures(spec.model) : null;
  return [
    ...(base ? [{ field: 'model.layers.base', topology: base }] : []),
    ...(head ? [{ field: 'model.layers.head', topology: head, ...(features ? { input: features } : {}) }] : []),
  ];
}

/** The share a fine-tune validates on: an image folder's own split, otherwise `training.validationSplit` of train. */
function finetuneValidation(spec: { dataset: z.infer<typeof DatasetSpecSchema>; training: TrainingSpec }): {
  value: number;
  field: string;
} {
  return spec.dataset.name === 'image-folder'
    ? { value: spec.dataset.split.validation, field: 'dataset.split.validation' }
    : { value: spec.training.validationSplit, field: 'training.validationSplit' };
}

const runSpecUnion = z.discriminatedUnion('kind', [PretrainSpecObject, FinetuneSpecObject, EvaluateSpecSchema]);
export interface RunSpecUnionType extends Inferred<typeof runSpecUnion> {}
const RunSpecUnion: RunSpecUnionType = runSpecUnion;
const runSpecSchema = z.preprocess(
  (v) =>
    isObject(v) && (v['kind'] === 'pretrain' || v['kind'] === 'finetune') ? withDatasetInputShape(v, v['kind']) : v,
  RunSpecUnion,
);
export interface RunSpecSchemaType extends Inferred<typeof runSpecSchema> {}
export const RunSpecSchema: RunSpecSchemaType = runSpecSchema;
export type RunSpec = z.infer<typeof RunSpecSchema>;
/** What a client sends: every defaulted field may be left out. */
export type RunSpecInput = z.input<typeof RunSpecUnion>;
/** A pretrain as a client sends it (RunSpecInput's): every defaulted field may be left out. */
export type PretrainSpecInput = z.input<typeof PretrainSpecObject>;
/** A fine-tune as a client sends it (RunSpecInput's): every defaulted field may be left out. */
export type FinetuneSpecInput = z.input<typeof FinetuneSpecObject>;
/**
 * A spec where its place says its kind (a sweep's base, a pipeline's steps): `kind` may be left
 * out, and the schema fills it in (withKind); written, it must be that kind.
 */
export type KindImplied<S extends { kind: string }> = Omit<S, 'kind'> & { kind?: S['kind'] };
/** The kinds that train a model (evaluation runs only read one). */
export type TrainingRunSpec = PretrainSpec | FinetuneSpec;

export type SpecParseResult = { ok: true; spec: RunSpec } | { ok: false; errors: FieldError[] };

/** Validates a submitted spec, returning every bad field with its path. */
export function parseRunSpec(input: unknown): SpecParseResult {
  const result = RunSpecSchema.safeParse(input);
  if (result.success) return { ok: true, spec: result.data };
  return { ok: false, errors: fieldErrorsOf(result.error) };
}
