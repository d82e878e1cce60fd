import type { z } from 'zod';
import {
  inferTopology,
  type LayerConfig,
  type LayersTopology,
  MAX_MODEL_PARAMETERS,
  type TopologyProblem,
} from './layers-topology';

/**
 * The built-in models (libs/training's conv-autoencoder.model.ts and classifier.model.ts) as the
 * Sequential topologies their builders make, layer for layer and name for name, so that their
 * shapes and parameters are inferred (and bounded, and counted against the project's quota) the
 * way a spec's own topologies are. Each layer carries the spec field that sizes it, which a
 * refusal names. Pure TypeScript; built-in-model-sizes.spec.ts in libs/training holds each to
 * what TensorFlow.js builds.
 */

/** The fields that shape the built-in encoder (declared here, not imported: run-spec.schema.ts imports this module). */
export interface BuiltInEncoderFields {
  inputShape: readonly [number, number, number];
  filters: readonly number[];
  latentDim: number;
  latentActivation?: 'relu' | 'linear';
}

/** The fields that shape the built-in classifier head. */
export interface BuiltInHeadFields {
  headNorm: 'batchNorm' | 'none';
  headUnits: number;
  dropout: number;
}

/** A built-in model, or the part of one that is built separately, as its builder makes it. */
export interface BuiltInPart {
  /** What it is, as a quota refusal lists the parts: 'built-in autoencoder', 'built-in encoder', 'built-in head'. */
  field: string;
  topology: LayersTopology;
  /** The shape fed to the first layer, when the topology does not declare one (the head). */
  input?: number[];
  /** The spec field that sizes each layer of `topology`, index for index (`model.filters`, `model.latentDim`, …). */
  layerFields: string[];
}

const FILTERS = 'model.filters';
const LATENT = 'model.latentDim';

/** Spatial size after `blocks` of the built-in encoder's 'same' pooling (7 → 4). */
export function encodedSize(size: number, blocks: number): number {
  let s = size;
  for (let i = 0; i < blocks; i++) s = Math.ceil(s / 2);
  return s;
}

type Layers = { layer: LayerConfig; field: string }[];
const sequential = (field: string, layers: Layers, input?: number[]): BuiltInPart => ({
  field,
  topology: { class_name: 'Sequential', config: { layers: layers.map((l) => l.layer) } },
  ...(input ? { input } : {}),
  layerFields: layers.map((l) => l.field),
});

/** buildEncoderGraph: the input, per filter a 'same' 3×3 relu conv and a 'same' 2×2 max pool, flatten, the dense latent. */
function encoderLayers(arch: BuiltInEncoderFields): Layers {
  const layers: Layers = [
    {
      layer: { class_name: 'InputLayer', config: { name: 'image', batch_input_shape: [null, ...arch.inputShape] } },
      field: 'model.inputShape',
    },
  ];
  arch.filters.forEach((filters, i) => {
    layers.push(
      {
        layer: {
          class_name: 'Conv2D',
          config: { name: `enc_conv${i + 1}`, filters, kernel_size: 3, padding: 'same', activation: 'relu' },
        },
        field: FILTERS,
      },
      {
        layer: { class_name: 'MaxPooling2D', config: { name: `enc_pool${i + 1}`, pool_size: 2, padding: 'same' } },
        field: FILTERS,
      },
    );
  });
  layers.push(
    { layer: { class_name: 'Flatten', config: { name: 'enc_flatten' } }, field: FILTERS },
    {
      layer: {
        class_name: 'Dense',
        config: { name: 'latent', units: arch.latentDim, activation: arch.latentActivation ?? 'relu' },
      },
      field: LATENT,
    },
  );
  return layers;
}

/**
 * The encoder a fine-tune without a base builds whole (buildEncoder), latent layer included, before
 * it cuts it at `cutAt`: its latent weights are held whatever the cut, so they count.
 */
export function builtInEncoder(arch: BuiltInEncoderFields): BuiltInPart {
  return sequential('built-in encoder', encoderLayers(arch));
}

/**
 * The built-in encoder as a classifier trained on it holds it: cut at `cutAt` (buildClassifier's
 * scratchBase), so without the flatten and the latent layer when cut at 'conv'. What a
 * registered fine-tune's checkpoint holds of its encoder, and a fine-tune on it loads.
 */
export function builtInEncoderCut(arch: BuiltInEncoderFields, cutAt: 'conv' | 'latent'): BuiltInPart {
  const layers = encoderLayers(arch);
  return sequential('built-in encoder', cutAt === 'latent' ? layers : layers.slice(0, -2));
}

/** buildConvAutoencoder: the encoder, then dense → reshape → transposed convolutions → crop → sigmoid conv. */
export function builtInAutoencoder(arch: BuiltInEncoderFields): BuiltInPart {
  const [h, w, channels] = arch.inputShape;
  const blocks = arch.filters.length;
  const eh = encodedSize(h, blocks);
  const ew = encodedSize(w, blocks);
  const last = arch.filters[blocks - 1]!;
  const layers = encoderLayers(arch);
  layers.push(
    {
      layer: { class_name: 'Dense', config: { name: 'dec_dense', units: eh * ew * last, activation: 'relu' } },
      field: LATENT,
    },
    { layer: { class_name: 'Reshape', config: { name: 'dec_reshape', target_shape: [eh, ew, last] } }, field: FILTERS },
  );
  [...arch.filters].reverse().forEach((filters, i) => {
    layers.push({
      layer: {
        class_name: 'Conv2DTranspose',
        config: {
          name: `dec_deconv${i + 1}`,
          filters,
          kernel_size: 3,
          strides: 2,
          padding: 'same',
          activation: 'relu',
        },
      },
      field: FILTERS,
    });
  });
  const extraH = eh * 2 ** blocks - h;
  const extraW = ew * 2 ** blocks - w;
  if (extraH > 0 || extraW > 0) {
    const cropping: [[number, number], [number, number]] = [
      [Math.floor(extraH / 2), Math.ceil(extraH / 2)],
      [Math.floor(extraW / 2), Math.ceil(extraW / 2)],
    ];
    layers.push({ layer: { class_name: 'Cropping2D', config: { name: 'dec_crop', cropping } }, field: FILTERS });
  }
  layers.push({
    layer: {
      class_name: 'Conv2D',
      config: { name: 'reconstruction', filters: channels, kernel_size: 3, padding: 'same', activation: 'sigmoid' },
    },
    field: FILTERS,
  });
  return sequential('built-in autoencoder', layers);
}

/**
 * buildClassifier's own head on a base's `features` (per image), which `featuresField` sizes:
 * flatten (feature maps only), batch norm, the hidden dense and dropout when asked for, the
 * softmax over `classes`.
 */
export function builtInHead(
  head: BuiltInHeadFields,
  features: readonly number[],
  featuresField: string,
  classes: number,
): BuiltInPart {
  const layers: Layers = [];
  if (features.length > 1)
    layers.push({ layer: { class_name: 'Flatten', config: { name: 'head_flatten' } }, field: featuresField });
  if (head.headNorm === 'batchNorm')
    layers.push({
      layer: { class_name: 'BatchNormalization', config: { name: 'head_norm' } },
      field: 'model.headNorm',
    });
  if (head.headUnits > 0)
    layers.push({
      layer: { class_name: 'Dense', config: { name: 'head_hidden', units: head.headUnits, activation: 'relu' } },
      field: 'model.headUnits',
    });
  if (head.dropout > 0)
    layers.push({
      layer: { class_name: 'Dropout', config: { name: 'head_dropout', rate: head.dropout } },
      field: 'model.dropout',
    });
  layers.push({
    layer: { class_name: 'Dense', config: { name: 'predictions', units: classes, activation: 'softmax' } },
    // Without a hidden layer the softmax is fed the base's features: their size is what to change.
    field: head.headUnits > 0 ? 'model.headUnits' : featuresField,
  });
  return sequential('built-in head', layers, [...features]);
}

type Ctx = z.core.$RefinementCtx<unknown>;

/** The spec field a part's problem is about: its layer's, else the part's first. */
function problemField(part: BuiltInPart, problem: TopologyProblem): string {
  const index = problem.path[2];
  return (typeof index === 'number' ? part.layerFields[index] : undefined) ?? part.layerFields[0]!;
}

/**
 * Bounds a spec's built-in parts as a spec's own topologies are bounded (layers-model.ts): no
 * layer may output more than MAX_LAYER_OUTPUT_ELEMENTS values per image, nor the parts together
 * hold more than MAX_MODEL_PARAMETERS, each refusal at the spec field that sizes the layer.
 */
export function checkBuiltInParts(ctx: Ctx, parts: readonly BuiltInPart[]): void {
  let total = 0;
  let largest = { field: '', parameters: -1 };
  for (const part of parts) {
    const result = inferTopology(part.topology, part.input);
    if (!result.ok) {
      ctx.addIssue({
        code: 'custom',
        path: problemField(part, result.problem).split('.'),
        message: `The ${part.field}'s ${result.problem.message}`,
      });
      return;
    }
    total += result.inferred.parameters;
    for (const [i, layer] of result.inferred.layers.entries())
      if (layer.parameters > largest.parameters)
        largest = { field: part.layerFields[i]!, parameters: layer.parameters };
  }
  if (total > MAX_MODEL_PARAMETERS)
    ctx.addIssue({
      code: 'custom',
      path: largest.field.split('.'),
      message: `The model holds ${total.toLocaleString('en')} parameters; no model may hold more than ${MAX_MODEL_PARAMETERS.toLocaleString('en')}`,
    });
}
