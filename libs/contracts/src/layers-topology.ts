import { z } from 'zod';
import { text } from './text.schema';
import type { Inferred } from './named-schema';

/**
 * A model a spec brings as a TF.js layers topology: what `model.toJSON(null, false)` returns for a
 * `tf.sequential` model (`{ class_name: 'Sequential', config: { name, layers } }`), or a whole
 * model.json (tensorflowjs_converter's or `model.save()`'s) whose `modelTopology` is one; weights
 * and training config in a model.json are dropped (the model trains from its initializers).
 *
 * Pure TypeScript, no TensorFlow.js: the API validates at submit what the training process later
 * builds with `tf.models.modelFromJSON`. Every layer class, config key and value the schema
 * accepts is one tfjs builds; sizes are bounded so that nothing accepted can exhaust a worker
 * (layers, units, filters, kernels, per-image activations, parameters), and `inferTopology` says
 * the shape and parameter count of each layer, or which field of which layer does not fit.
 */

/** Layers one topology may hold. */
export const MAX_TOPOLOGY_LAYERS = 100;
/** Parameters any one model may hold whatever the project's quota (QUOTA_MODEL_PARAMETERS is lower). */
export const MAX_MODEL_PARAMETERS = 100_000_000;
/** Values one layer may output per image (16 MiB of float32): bounds memory where parameters do not. */
export const MAX_LAYER_OUTPUT_ELEMENTS = 4_194_304;
const MAX_DIMENSION = 4096;

/** Layer names the built-in models use: a topology's layers may not take them (or their prefixes). */
const RESERVED_NAME = /^(enc_|dec_|head_)|^(predictions|latent|image|reconstruction)$/;

const LayerName = text({ max: 100, trim: false })
  .regex(/^[A-Za-z0-9_.-]+$/, { message: 'A layer name is letters, digits, _ . and - only' })
  .refine((name) => !RESERVED_NAME.test(name), {
    message: 'Names starting enc_, dec_ or head_, and predictions, latent, image, reconstruction, are reserved',
  });

const Size = (max: number) => z.int().min(1).max(max);
/** An int or a pair of ints, as Keras writes kernel sizes, strides and pool sizes. */
const Pair = (max: number) =>
  z.union([Size(max), z.tuple([Size(max), Size(max)])], {
    error: `Expected an integer from 1 to ${max}, or a pair of them`,
  });
const PadPair = z.tuple([z.int().min(0).max(512), z.int().min(0).max(512)]);
/** ZeroPadding2D's and Cropping2D's `[[top, bottom], [left, right]]`, or one int, or `[vertical, horizontal]`. */
const Padding2D = z.union(
  [z.int().min(0).max(512), z.tuple([z.int().min(0).max(512), z.int().min(0).max(512)]), z.tuple([PadPair, PadPair])],
  { error: 'Expected an integer from 0 to 512, a [vertical, horizontal] pair, or [[top, bottom], [left, right]]' },
);

/** Activation names as tfjs serializes them. */
export const ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'elu',
  'selu',
  'sigmoid',
  'hard_sigmoid',
  'tanh',
  'softmax',
  'softplus',
  'softsign',
  'swish',
  'mish',
  'gelu',
  'gelu_new',
] as const;
export type Activation = (typeof ACTIVATIONS)[number];
const activationSchema = z.enum(ACTIVATIONS);
export interface ActivationSchemaType extends Inferred<typeof activationSchema> {}
const ActivationSchema: ActivationSchemaType = activationSchema;

const Seed = z
  .int()
  .min(0)
  .max(2 ** 31 - 1)
  .nullable()
  .optional();
const Finite = (min: number, max: number) => z.number().min(min).max(max);
const initializerSchema = z.discriminatedUnion('class_name', [
  z.object({ class_name: z.enum(['Zeros', 'Ones']), config: z.object({}).strict() }).strict(),
  z.object({ class_name: z.literal('Constant'), config: z.object({ value: Finite(-1e6, 1e6) }).strict() }).strict(),
  z
    .object({
      class_name: z.literal('RandomUniform'),
      config: z.object({ minval: Finite(-1e6, 1e6), maxval: Finite(-1e6, 1e6), seed: Seed }).strict(),
    })
    .strict(),
  z
    .object({
      class_name: z.enum(['RandomNormal', 'TruncatedNormal']),
      config: z.object({ mean: Finite(-1e6, 1e6), stddev: Finite(0, 1e6), seed: Seed }).strict(),
    })
    .strict(),
  z
    .object({
      class_name: z.literal('VarianceScaling'),
      config: z
        .object({
          scale: Finite(0, 1e6).refine((s) => s > 0, { message: 'Must be above 0' }),
          mode: z.enum(['fan_in', 'fan_out', 'fan_avg']),
          distribution: z.enum(['normal', 'uniform', 'truncated_normal']),
          seed: Seed,
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      class_name: z.enum(['GlorotUniform', 'GlorotNormal', 'HeNormal', 'HeUniform', 'LeCunNormal', 'LeCunUniform']),
      config: z.object({ seed: Seed }).strict(),
    })
    .strict(),
]);
export interface InitializerSchemaType extends Inferred<typeof initializerSchema> {}
const InitializerSchema: InitializerSchemaType = initializerSchema;
export type InitializerConfig = z.infer<typeof InitializerSchema>;
const regularizerSchema = z
  .object({
    class_name: z.literal('L1L2'),
    config: z.object({ l1: Finite(0, 1e3), l2: Finite(0, 1e3) }).strict(),
  })
  .strict()
  .nullable()
  .optional();
export interface RegularizerSchemaType extends Inferred<typeof regularizerSchema> {}
const RegularizerSchema: RegularizerSchemaType = regularizerSchema;
/** Constraints are not offered: only the `null` tfjs writes when there is none. */
const NoConstraint = z.null({ message: 'Weight constraints are not supported; use null' }).optional();
const ChannelsLast = z.literal('channels_last', { message: "Only 'channels_last' is supported" }).optional();

/** Keys every layer's config may carry. `batch_input_shape` is `[null, ...dims]` (the batch left open). */
const common = {
  name: LayerName,
  trainable: z.boolean().optional(),
  dtype: z.literal('float32').optional(),
  batch_input_shape: z
    .tuple([z.null()], z.int().min(1).max(MAX_DIMENSION))
    .refine((s) => s.length >= 2 && s.length <= 4, { message: 'Expected [null, ...1 to 3 dimensions]' })
    .optional(),
};
const weighted = {
  use_bias: z.boolean().optional(),
  kernel_initializer: InitializerSchema.optional(),
  bias_initializer: InitializerSchema.optional(),
  kernel_regularizer: RegularizerSchema,
  bias_regularizer: RegularizerSchema,
  activity_regularizer: RegularizerSchema,
  kernel_constraint: NoConstraint,
  bias_constraint: NoConstraint,
  activation: ActivationSchema.optional(),
};
const conv = {
  ...common,
  ...weighted,
  filters: Size(4096),
  kernel_size: Pair(31),
  strides: Pair(16).optional(),
  padding: z.enum(['valid', 'same']).optional(),
  data_format: ChannelsLast,
};
const pooling = {
  ...common,
  pool_size: Pair(32).optional(),
  strides: Pair(32).nullable().optional(),
  padding: z.enum(['valid', 'same']).optional(),
  data_format: ChannelsLast,
};
const layer = <N extends string, S extends z.ZodRawShape>(className: N, config: S) =>
  z.object({ class_name: z.literal(className), config: z.object(config).strict() }).strict();

const layerSchema = z.discriminatedUnion(
  'class_name',
  [
    // `ragged` and `groups` are what Keras (Python) writes into a converted model.json; tfjs has neither, so only their defaults.
    layer('InputLayer', { ...common, sparse: z.literal(false).optional(), ragged: z.literal(false).optional() }),
    layer('Conv2D', { ...conv, dilation_rate: Pair(8).optional(), groups: z.literal(1).optional() }),
    layer('Conv2DTranspose', conv),
    layer('MaxPooling2D', pooling),
    layer('AveragePooling2D', pooling),
    layer('GlobalAveragePooling2D', { ...common, data_format: ChannelsLast }),
    layer('GlobalMaxPooling2D', { ...common, data_format: ChannelsLast }),
    layer('UpSampling2D', {
      ...common,
      // A pair only: tfjs reads an int size as NaN × NaN.
      size: z.tuple([Size(16), Size(16)]).optional(),
      data_format: ChannelsLast,
      interpolation: z.enum(['nearest', 'bilinear']).optional(),
    }),
    layer('ZeroPadding2D', { ...common, padding: Padding2D.optional(), data_format: ChannelsLast }),
    layer('Cropping2D', { ...common, cropping: Padding2D.optional(), data_format: ChannelsLast }),
    layer('Dense', { ...common, ...weighted, units: Size(65_536) }),
    layer('Flatten', { ...common, data_format: ChannelsLast }),
    layer('Reshape', {
      ...common,
      target_shape: z
        .array(
          z
            .int()
            .min(-1)
            .max(MAX_DIMENSION)
            .refine((d) => d !== 0, { message: 'A dimension is -1 or above 0' }),
        )
        .min(1)
        .max(3),
    }),
    layer('Dropout', {
      ...common,
      rate: z.number().min(0).max(0.95),
      noise_shape: z.null().optional(),
      seed: Seed,
    }),
    layer('BatchNormalization', {
      ...common,
      axis: z.literal(-1, { message: 'Only the last axis (-1) is supported' }).optional(),
      momentum: z.number().min(0).max(1).optional(),
      epsilon: z.number().min(1e-12).max(1).optional(),
      center: z.boolean().optional(),
      scale: z.boolean().optional(),
      beta_initializer: InitializerSchema.optional(),
      gamma_initializer: InitializerSchema.optional(),
      moving_mean_initializer: InitializerSchema.optional(),
      moving_variance_initializer: InitializerSchema.optional(),
      beta_regularizer: RegularizerSchema,
      gamma_regularizer: RegularizerSchema,
      beta_constraint: NoConstraint,
      gamma_constraint: NoConstraint,
    }),
    layer('Activation', { ...common, activation: ActivationSchema }),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? `Unknown or unsupported layer class; supported: ${SUPPORTED_LAYERS.join(', ')}`
        : undefined,
  },
);
export interface LayerSchemaType extends Inferred<typeof layerSchema> {}
export const LayerSchema: LayerSchemaType = layerSchema;
export type LayerConfig = z.infer<typeof LayerSchema>;

export const SUPPORTED_LAYERS = [
  'InputLayer',
  'Conv2D',
  'Conv2DTranspose',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'UpSampling2D',
  'ZeroPadding2D',
  'Cropping2D',
  'Dense',
  'Flatten',
  'Reshape',
  'Dropout',
  'BatchNormalization',
  'Activation',
] as const;

const sequentialSchema = z
  .object(
    {
      class_name: z.literal('Sequential', {
        message: "Only Sequential topologies are supported (class_name 'Sequential'; functional 'Model's are not)",
      }),
      config: z
        .object({
          name: LayerName.optional(),
          layers: z.array(LayerSchema).min(1).max(MAX_TOPOLOGY_LAYERS),
        })
        .strict(),
      keras_version: text({ max: 100 }).optional(),
      backend: text({ max: 100 }).optional(),
    },
    {
      error: (issue) =>
        issue.code === 'invalid_type' && typeof issue.input === 'string'
          ? 'Expected the topology as a JSON object, not a string: model.toJSON() returns a string, model.toJSON(null, false) the object (or send JSON.parse of the string)'
          : undefined,
    },
  )
  .strict();
export interface SequentialSchemaType extends Inferred<typeof sequentialSchema> {}
const SequentialSchema: SequentialSchemaType = sequentialSchema;

const layersTopologySchema = z
  .preprocess(
    (v) =>
      typeof v === 'object' && v !== null && !Array.isArray(v) && Object.hasOwn(v, 'modelTopology')
        ? (v as { modelTopology: unknown }).modelTopology
        : v,
    SequentialSchema,
  )
  .transform(({ class_name, config }): LayersTopology => ({ class_name, config }));
export interface LayersTopologySchemaType extends Inferred<typeof layersTopologySchema> {}
/**
 * A topology as submitted (toJSON's object, or a model.json, whose `modelTopology` alone is read:
 * its weights manifest and training config are not used), stored as the Sequential topology
 * alone, so the run spec says exactly what was built.
 */
export const LayersTopologySchema: LayersTopologySchemaType = layersTopologySchema;
/**
 * A topology as a spec holds it (LayersTopologySchema's output): an interface, so declarations name
 * it rather than spell out every layer's config again in every spec that holds one (see Inferred).
 */
export interface LayersTopology {
  class_name: 'Sequential';
  config: z.output<SequentialSchemaType>['config'];
}

interface ConvConfig {
  filters: number;
  kernel_size: number | [number, number];
  strides?: number | [number, number];
  dilation_rate?: number | [number, number];
  padding?: 'valid' | 'same';
  use_bias?: boolean;
}

/** One layer's place in an inferred topology. */
export interface InferredLayer {
  name: string;
  className: string;
  /** Per image, without the batch dimension. */
  outputShape: number[];
  parameters: number;
}

export interface InferredTopology {
  inputShape: number[];
  outputShape: number[];
  parameters: number;
  layers: InferredLayer[];
  /** The activation the output passes through last ('linear' when none can be told). */
  outputActivation: Activation;
}

/** Where a topology does not fit: the path below the topology (e.g. `['config', 'layers', 3, 'config', 'filters']`). */
export interface TopologyProblem {
  path: (string | number)[];
  message: string;
}

const pair = (v: number | readonly [number, number] | null | undefined, fallback: number): [number, number] =>
  v === undefined || v === null ? [fallback, fallback] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
const padding2D = (v: z.infer<typeof Padding2D> | undefined): [[number, number], [number, number]] => {
  if (v === undefined)
    return [
      [0, 0],
      [0, 0],
    ];
  if (typeof v === 'number')
    return [
      [v, v],
      [v, v],
    ];
  if (typeof v[0] === 'number') {
    const [h, w] = v as [number, number];
    return [
      [h, h],
      [w, w],
    ];
  }
  return v as [[number, number], [number, number]];
};
const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Layers whose output keeps the range of their input's values (what the output activation is read through). */
const RANGE_KEEPING = new Set([
  'Reshape',
  'Flatten',
  'Dropout',
  'Cropping2D',
  'UpSampling2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
]);

/**
 * The shape each layer outputs and the parameters it holds (weights and, for batch norm, the
 * moving statistics, as Keras's `count_params` counts them), with `input` as the shape fed to the
 * first layer when the topology does not fix one (a head fed by its base). Channels last, as tfjs.
 */
export function inferTopology(
  topology: LayersTopology,
  input?: readonly number[],
): { ok: true; inferred: InferredTopology } | { ok: false; problem: TopologyProblem } {
  const layers = topology.config.layers;
  const fail = (index: number, key: string | null, message: string) => ({
    ok: false as const,
    problem: {
      path: ['config', 'layers', index, ...(key ? ['config', key] : [])],
      message: `${layers[index]!.class_name} '${layers[index]!.config.name}': ${message}`,
    },
  });
  const names = new Set<string>();
  let shape: number[] | null = input ? [...input] : null;
  let parameters = 0;
  const inferred: InferredLayer[] = [];
  let inputShape: number[] | null = shape;
  for (let i = 0; i < layers.length; i++) {
    const { class_name: className, config } = layers[i]!;
    if (names.has(config.name)) return fail(i, 'name', 'Another layer of the topology has this name');
    names.add(config.name);
    const declared = config.batch_input_shape?.slice(1) as number[] | undefined;
    if (className === 'InputLayer' && i > 0) return fail(i, null, 'An InputLayer can only be the first layer');
    if (declared) {
      if (shape === null) shape = inputShape = declared;
      else if (fmt(declared) !== fmt(shape))
        return fail(i, 'batch_input_shape', `Declares input ${fmt(declared)} but receives ${fmt(shape)}`);
    }
    if (shape === null)
      return fail(
        i,
        'batch_input_shape',
        'The first layer must declare its input (batch_input_shape, or an InputLayer)',
      );
    const at = shape;
    const rank3 = () =>
      at.length === 3 ? null : `Expects a 3-D input [height, width, channels] but receives ${fmt(at)}`;
    let out: number[];
    let params = 0;
    switch (layers[i]!.class_name) {
      case 'InputLayer':
        out = at;
        break;
      case 'Conv2D':
      case 'Conv2DTranspose': {
        const c = layers[i]!.config as ConvConfig;
        const why = rank3();
        if (why) return fail(i, null, why);
        const [kh, kw] = pair(c.kernel_size, 1);
        const [sh, sw] = pair(c.strides, 1);
        const [dh, dw] = pair(c.dilation_rate, 1);
        if ((dh > 1 || dw > 1) && (sh > 1 || sw > 1))
          return fail(i, 'dilation_rate', 'A dilation above 1 needs strides of 1');
        const same = c.padding === 'same';
        const [h, w, channels] = at as [number, number, number];
        const size = (n: number, k: number, s: number, d: number) => {
          if (className === 'Conv2DTranspose') return same ? n * s : n * s + Math.max(k - s, 0);
          if (same) return Math.ceil(n / s);
          return Math.floor((n - (k - 1) * d - 1) / s) + 1;
        };
        out = [size(h, kh, sh, dh), size(w, kw, sw, dw), c.filters];
        if (out[0]! < 1 || out[1]! < 1)
          return fail(i, 'kernel_size', `A ${kh}×${kw} kernel does not fit a ${h}×${w} input with 'valid' padding`);
        params = kh * kw * channels * c.filters + (c.use_bias === false ? 0 : c.filters);
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const c = layers[i]!.config as {
          pool_size?: number | [number, number];
          strides?: number | [number, number] | null;
          padding?: string;
        };
        const why = rank3();
        if (why) return fail(i, null, why);
        const [ph, pw] = pair(c.pool_size, 2);
        const [sh, sw] = c.strides === undefined || c.strides === null ? [ph, pw] : pair(c.strides, 1);
        const [h, w, channels] = at as [number, number, number];
        const size = (n: number, p: number, s: number) =>
          c.padding === 'same' ? Math.ceil(n / s) : Math.floor((n - p) / s) + 1;
        out = [size(h, ph, sh), size(w, pw, sw), channels];
        if (out[0]! < 1 || out[1]! < 1)
          return fail(i, 'pool_size', `A ${ph}×${pw} pool does not fit a ${h}×${w} input with 'valid' padding`);
        break;
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        const why = rank3();
        if (why) return fail(i, null, why);
        out = [at[2]!];
        break;
      }
      case 'UpSampling2D': {
        const why = rank3();
        if (why) return fail(i, null, why);
        const [a, b] = pair((layers[i]!.config as { size?: number | [number, number] }).size, 2);
        out = [at[0]! * a, at[1]! * b, at[2]!];
        break;
      }
      case 'ZeroPadding2D':
      case 'Cropping2D': {
        const why = rank3();
        if (why) return fail(i, null, why);
        const key = className === 'Cropping2D' ? 'cropping' : 'padding';
        const [[t, bt], [l, r]] = padding2D(
          (layers[i]!.config as unknown as Record<string, z.infer<typeof Padding2D>>)[key],
        );
        const sign = className === 'Cropping2D' ? -1 : 1;
        out = [at[0]! + sign * (t + bt), at[1]! + sign * (l + r), at[2]!];
        if (out[0]! < 1 || out[1]! < 1) return fail(i, key, `Crops a ${at[0]}×${at[1]} input to nothing`);
        break;
      }
      case 'Dense': {
        const c = layers[i]!.config as { units: number; use_bias?: boolean };
        const last = at[at.length - 1]!;
        out = [...at.slice(0, -1), c.units];
        params = last * c.units + (c.use_bias === false ? 0 : c.units);
        break;
      }
      case 'Flatten':
        out = [product(at)];
        break;
      case 'Reshape': {
        const target = (layers[i]!.config as { target_shape: number[] }).target_shape;
        const unknown = target.filter((d) => d === -1).length;
        if (unknown > 1) return fail(i, 'target_shape', 'At most one dimension may be -1');
        const known = product(target.filter((d) => d !== -1));
        const total = product(at);
        if (unknown === 1 ? total % known !== 0 : known !== total)
          return fail(i, 'target_shape', `Cannot reshape ${fmt(at)} (${total} values) to ${fmt(target)}`);
        out = target.map((d) => (d === -1 ? total / known : d));
        break;
      }
      case 'BatchNormalization': {
        const c = layers[i]!.config as { center?: boolean; scale?: boolean };
        const channels = at[at.length - 1]!;
        params = ((c.center === false ? 0 : 1) + (c.scale === false ? 0 : 1) + 2) * channels;
        out = at;
        break;
      }
      case 'Dropout':
      case 'Activation':
        out = at;
        break;
    }
    const elements = product(out);
    if (elements > MAX_LAYER_OUTPUT_ELEMENTS)
      return fail(
        i,
        null,
        `Outputs ${fmt(out)} (${elements.toLocaleString('en')} values per image); at most ${MAX_LAYER_OUTPUT_ELEMENTS.toLocaleString('en')}`,
      );
    parameters += params;
    if (parameters > MAX_MODEL_PARAMETERS)
      return fail(
        i,
        null,
        `Brings the model to ${parameters.toLocaleString('en')} parameters; no model may hold more than ${MAX_MODEL_PARAMETERS.toLocaleString('en')}`,
      );
    inferred.push({ name: config.name, className, outputShape: out, parameters: params });
    shape = out;
  }
  return {
    ok: true,
    inferred: {
      inputShape: inputShape!,
      outputShape: shape!,
      parameters,
      layers: inferred,
      outputActivation: outputActivation(layers),
    },
  };
}

/** The activation the topology's output went through last, read back through layers that keep value ranges. */
function outputActivation(layers: readonly LayerConfig[]): Activation {
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]!;
    if (RANGE_KEEPING.has(layer.class_name)) continue;
    const activation = (layer.config as { activation?: Activation }).activation;
    if (layer.class_name === 'Dense' || layer.class_name.startsWith('Conv') || layer.class_name === 'Activation')
      return activation ?? 'linear';
    return 'linear';
  }
  return 'linear';
}

/** The layer holding the most parameters, as `layers[i]` with its count: what a quota refusal names. */
export function largestLayer(inferred: InferredTopology): { index: number; layer: InferredLayer } {
  let index = 0;
  inferred.layers.forEach((l, i) => {
    if (l.parameters > inferred.layers[index]!.parameters) index = i;
  });
  return { index, layer: inferred.layers[index]! };
}
