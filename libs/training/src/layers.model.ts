import * as tf from '@tensorflow/tfjs';
import { inferTopology, type LayersAutoencoderSpec, type LayersTopology } from '@trainyard/contracts';
import type { ConvAutoencoder } from './conv-autoencoder.model';
import { InvalidTrainingInputError } from './invalid-training-input.error';

/** The name of an encoder built from a spec's topology: a fine-tune of it uses it whole (no cut). */
export const LAYERS_ENCODER = 'layers_encoder';
/** Prefix of a spec's head layers in a classifier (`head_l<i>_<name>`), so the head is told from the base. */
export const LAYERS_HEAD_PREFIX = 'head_l';

const SEEDED_INITIALIZERS = new Set([
  'RandomUniform',
  'RandomNormal',
  'TruncatedNormal',
  'VarianceScaling',
  'GlorotUniform',
  'GlorotNormal',
  'HeNormal',
  'HeUniform',
  'LeCunNormal',
  'LeCunUniform',
]);

type JsonLayer = { class_name: string; config: Record<string, unknown> };

/**
 * A copy of the topology's layers with every initializer that has no seed given one derived from
 * the run's seed (per layer and initializer), so that the same spec builds the same starting
 * weights, as the built-in models' seeded kernels do. Seeds the spec gives are kept.
 */
function seededLayers(topology: LayersTopology, seed: number | undefined, offset: number): JsonLayer[] {
  // A JSON round trip rather than structuredClone: tfjs tells arrays by `instanceof Array`, which
  // structuredClone's arrays fail where they come from another realm (Jest's sandbox).
  const layers = JSON.parse(JSON.stringify(topology.config.layers)) as JsonLayer[];
  if (seed === undefined) return layers;
  layers.forEach((layer, i) => {
    Object.entries(layer.config).forEach(([key, value], k) => {
      if (!key.endsWith('_initializer') || typeof value !== 'object' || value === null) return;
      const init = value as { class_name: string; config: Record<string, unknown> };
      if (!SEEDED_INITIALIZERS.has(init.class_name) || typeof init.config.seed === 'number') return;
      init.config.seed = (seed * 7919 + (offset + i + 1) * 104729 + k * 131) % 2 ** 31;
    });
  });
  return layers;
}

/**
 * Builds a Sequential topology with tfjs's own deserializer (`tf.models.modelFromJSON`): the
 * contracts' schema admits only layers and values tfjs builds. With `input`, the first layer is
 * fed that shape (a head on its base) and any shape it declares must be the same.
 */
export async function buildTopology(
  topology: LayersTopology,
  what: string,
  options: {
    seed?: number;
    seedOffset?: number;
    input?: readonly number[];
    rename?: (name: string, i: number) => string;
  },
): Promise<tf.LayersModel> {
  const layers = seededLayers(topology, options.seed, options.seedOffset ?? 0);
  if (options.rename) layers.forEach((l, i) => (l.config.name = options.rename!(l.config.name as string, i)));
  if (options.input) {
    const first = layers[0]!.config;
    const declared = first.batch_input_shape as (number | null)[] | undefined;
    const wanted = [null, ...options.input];
    if (declared && declared.join(',') !== wanted.join(','))
      throw new InvalidTrainingInputError(
        `${what} declares input [${declared.slice(1).join(', ')}] but is fed [${options.input.join(', ')}]`,
      );
    first.batch_input_shape = wanted;
  }
  try {
    const config = { name: what.replace(/\W/g, '_'), layers } as unknown as tf.serialization.ConfigDict;
    return await tf.models.modelFromJSON({ class_name: 'Sequential', config });
  } catch (error) {
    throw new InvalidTrainingInputError(`${what} cannot be built: ${(error as Error).message}`);
  }
}

/** A Sequential's layers that compute (its InputLayer, when it has one, only declares the shape). */
function computingLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((l) => l.getClassName() !== 'InputLayer');
}

/** `layers` applied in order to `input` (sharing their weights with the model they came from). */
export function applyLayers(layers: tf.layers.Layer[], input: tf.SymbolicTensor): tf.SymbolicTensor {
  return layers.reduce((x, layer) => layer.apply(x) as tf.SymbolicTensor, input);
}

/**
 * A `layers-autoencoder`: the encoder topology, its decoder applied to the encoder's output, as one
 * flat model ('autoencoder') and the encoder ('layers_encoder') sharing its layers, the same pair
 * buildConvAutoencoder gives, so checkpoints, resume and fine-tunes treat both alike.
 */
export async function buildLayersAutoencoder(spec: LayersAutoencoderSpec, seed?: number): Promise<ConvAutoencoder> {
  const encoderModel = await buildTopology(spec.encoder, 'model.encoder', { seed });
  const features = encoderModel.outputs[0]!.shape.slice(1) as number[];
  const decoderModel = await buildTopology(spec.decoder, 'model.decoder', {
    seed,
    seedOffset: spec.encoder.config.layers.length,
    input: features,
  });
  const input = encoderModel.inputs[0]!;
  const latent = encoderModel.outputs[0]!;
  const output = applyLayers(computingLayers(decoderModel), latent);
  return {
    autoencoder: tf.model({ inputs: input, outputs: output, name: 'autoencoder' }),
    encoder: tf.model({ inputs: input, outputs: latent, name: LAYERS_ENCODER }),
  };
}

/** A classifier's `layers.base`, built from scratch. */
export async function buildLayersBase(topology: LayersTopology, seed?: number): Promise<tf.LayersModel> {
  const model = await buildTopology(topology, 'model.layers.base', { seed });
  return tf.model({ inputs: model.inputs, outputs: model.outputs, name: 'layers_base' });
}

/**
 * A classifier's `layers.head`, built for the base's features; its layers are renamed `head_l<i>_<name>`.
 * Its sizes are checked first, with the contracts' shape inference, as the API checks a head it can
 * place: on a base only the training process reads (a run's, a registered or imported model) the
 * features are known only here, and a head past the limits would be allocated, crash the process
 * out of memory and be retried.
 */
export async function buildLayersHead(
  topology: LayersTopology,
  features: readonly number[],
  numClasses: number,
  seed?: number,
): Promise<tf.layers.Layer[]> {
  assertHeadFits(topology, features);
  const head = await buildTopology(topology, 'model.layers.head', {
    // Offset from a base's seeds, as the built-in head's are.
    seed: seed === undefined ? undefined : seed + 1,
    input: features,
    rename: (name, i) => `${LAYERS_HEAD_PREFIX}${i + 1}_${name}`,
  });
  const output = head.outputs[0]!.shape.slice(1);
  if (output.length !== 1 || output[0] !== numClasses)
    throw new InvalidTrainingInputError(
      `model.layers.head outputs [${output.join(', ')}] but the dataset has ${numClasses} classes`,
    );
  return computingLayers(head);
}

/**
 * Throws InvalidTrainingInputError, before anything is allocated, when the head fed `features`
 * does not fit: a layer that outputs more than MAX_LAYER_OUTPUT_ELEMENTS values per image, a head
 * of more than MAX_MODEL_PARAMETERS parameters, or shapes that do not meet. Names the layer and,
 * where it passes the parameter ceiling, the parameters it holds itself.
 */
function assertHeadFits(topology: LayersTopology, features: readonly number[]): void {
  const result = inferTopology(topology, features);
  if (result.ok) return;
  const { path } = result.problem;
  const own = typeof path[2] === 'number' && path.length === 3 ? layerAlone(topology, path[2], features) : null;
  // Alone, a layer that passes the ceiling says its own count; one that fits alone is named with it.
  const fed = `the head is fed the base's features [${features.join(', ')}]`;
  const message =
    own && !own.ok
      ? `${own.problem.message} (${fed})`
      : own?.ok && own.inferred.parameters > 0
        ? `${result.problem.message} (the layer holds ${own.inferred.parameters.toLocaleString('en')}; ${fed})`
        : `${result.problem.message} (${fed})`;
  throw new InvalidTrainingInputError(`model.layers.head.${path.join('.')}: ${message}`);
}

/** Layer `index` of a topology inferred alone, fed what the layers before it output (which fit). */
function layerAlone(topology: LayersTopology, index: number, features: readonly number[]) {
  const part = (from: number, to: number): LayersTopology => ({
    ...topology,
    config: { ...topology.config, layers: topology.config.layers.slice(from, to) },
  });
  const before = index === 0 ? null : inferTopology(part(0, index), features);
  if (before && !before.ok) return null;
  return inferTopology(part(index, index + 1), before ? before.inferred.outputShape : features);
}
