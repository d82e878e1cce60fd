import type { z } from 'zod';
import {
  type InferredTopology,
  inferTopology,
  largestLayer,
  type LayersTopology,
  MAX_MODEL_PARAMETERS,
} from './layers-topology';

/**
 * The checks that tie a spec's own topologies together (issue #14 item 4), pure TypeScript so the
 * API runs them at submit: an autoencoder's encoder feeds its decoder and the decoder reconstructs
 * the encoder's input (a sigmoid output under binary cross-entropy); a classifier's base feeds its
 * head and the head ends in a softmax over the dataset's classes; the images fit the first layer.
 */

type Path = (string | number)[];
type Ctx = z.core.$RefinementCtx<unknown>;

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const lastLayer = (t: LayersTopology): Path => ['config', 'layers', t.config.layers.length - 1];

/** A topology's shapes and parameters, its problem reported at `at` + the problem's own path. */
function inferAt(ctx: Ctx, at: Path, topology: LayersTopology, input?: readonly number[]): InferredTopology | null {
  const result = inferTopology(topology, input);
  if (result.ok) return result.inferred;
  ctx.addIssue({ code: 'custom', path: [...at, ...result.problem.path], message: result.problem.message });
  return null;
}

/** A later topology's layer may not reuse a name of an earlier one: they become one model. */
function checkNamesApart(ctx: Ctx, first: LayersTopology, second: LayersTopology, at: Path, what: string): boolean {
  const taken = new Set(first.config.layers.map((l) => l.config.name));
  const clash = second.config.layers.findIndex((l) => taken.has(l.config.name));
  if (clash < 0) return true;
  ctx.addIssue({
    code: 'custom',
    path: [...at, 'config', 'layers', clash, 'config', 'name'],
    message: `'${second.config.layers[clash]!.config.name}' is also a layer of the ${what}; names must differ`,
  });
  return false;
}

function checkImages(ctx: Ctx, at: Path, inferred: InferredTopology, imageShape: readonly number[] | null): void {
  if (imageShape && fmt(inferred.inputShape) !== fmt(imageShape))
    ctx.addIssue({
      code: 'custom',
      path: [...at, 'config', 'layers', 0],
      message: `Takes input ${fmt(inferred.inputShape)} but the dataset's images are ${fmt(imageShape)}`,
    });
}

function checkTotal(ctx: Ctx, at: Path, parts: InferredTopology[]): void {
  const total = parts.reduce((sum, p) => sum + p.parameters, 0);
  if (total > MAX_MODEL_PARAMETERS)
    ctx.addIssue({
      code: 'custom',
      path: at,
      message: `The model holds ${total.toLocaleString('en')} parameters; no model may hold more than ${MAX_MODEL_PARAMETERS.toLocaleString('en')}`,
    });
}

export interface LayersAutoencoderModel {
  encoder: LayersTopology;
  decoder: LayersTopology;
  loss: 'mse' | 'binaryCrossentropy';
}

/** Checks a `layers-autoencoder` model at `at` (e.g. `['model']`) against the dataset's image shape. */
export function checkLayersAutoencoder(
  ctx: Ctx,
  at: Path,
  model: LayersAutoencoderModel,
  imageShape: readonly number[] | null,
): void {
  const encoder = inferAt(ctx, [...at, 'encoder'], model.encoder);
  if (!encoder) return;
  checkImages(ctx, [...at, 'encoder'], encoder, imageShape);
  if (!checkNamesApart(ctx, model.encoder, model.decoder, [...at, 'decoder'], 'encoder')) return;
  const decoder = inferAt(ctx, [...at, 'decoder'], model.decoder, encoder.outputShape);
  if (!decoder) return;
  if (fmt(decoder.outputShape) !== fmt(encoder.inputShape))
    ctx.addIssue({
      code: 'custom',
      path: [...at, 'decoder', ...lastLayer(model.decoder)],
      message: `The decoder outputs ${fmt(decoder.outputShape)} but must reconstruct the encoder's input ${fmt(encoder.inputShape)}`,
    });
  else if (model.loss === 'binaryCrossentropy' && !['sigmoid', 'hard_sigmoid'].includes(decoder.outputActivation))
    ctx.addIssue({
      code: 'custom',
      path: [...at, 'decoder', ...lastLayer(model.decoder)],
      message: `Binary cross-entropy needs outputs in [0, 1]: end the decoder in a sigmoid (it ends in '${decoder.outputActivation}'), or use loss 'mse'`,
    });
  checkTotal(ctx, at, [encoder, decoder]);
}

export interface ClassifierLayers {
  base?: LayersTopology;
  head?: LayersTopology;
}

/**
 * Checks a classifier's `layers` at `at` (e.g. `['model', 'layers']`): the base against the
 * images, the head against the base's features (`features`, when neither a base topology nor the
 * spec decides them the head is checked on its own declared input, and against the base when the
 * run starts) and the classes.
 */
export function checkClassifierLayers(
  ctx: Ctx,
  at: Path,
  layers: ClassifierLayers,
  context: { imageShape: readonly number[] | null; classes: number | null; features: readonly number[] | null },
): void {
  const parts: InferredTopology[] = [];
  let features = context.features;
  if (layers.base) {
    const base = inferAt(ctx, [...at, 'base'], layers.base);
    if (!base) return;
    checkImages(ctx, [...at, 'base'], base, context.imageShape);
    parts.push(base);
    features = base.outputShape;
  }
  if (layers.head) {
    if (layers.base && !checkNamesApart(ctx, layers.base, layers.head, [...at, 'head'], 'base')) return;
    const declared = layers.head.config.layers[0]!.config.batch_input_shape;
    // A head without a declared input, on a base only the worker reads (a run's, a registered or
    // imported model's), is checked there; its own layers are checked here all the same.
    if (!features && !declared) return;
    const head = inferAt(ctx, [...at, 'head'], layers.head, features ?? undefined);
    if (!head) return;
    parts.push(head);
    const lastAt = [...at, 'head', ...lastLayer(layers.head)];
    const classes = context.classes;
    if (head.outputShape.length !== 1 || (classes !== null && head.outputShape[0] !== classes))
      ctx.addIssue({
        code: 'custom',
        path: lastAt,
        message: `The head outputs ${fmt(head.outputShape)}; a classifier's must be [${classes ?? 'classes'}], one probability per class`,
      });
    else if (head.outputActivation !== 'softmax')
      ctx.addIssue({
        code: 'custom',
        path: lastAt,
        message: `The head must end in a softmax for categorical cross-entropy (it ends in '${head.outputActivation}')`,
      });
  }
  checkTotal(ctx, at, parts);
}

/** A topology's parameters and its largest layer, for the project's quota (QUOTA_MODEL_PARAMETERS). */
export interface TopologySize {
  /** Dotted path of the topology in the spec, e.g. `model.encoder`, or the built-in part it is, e.g. `built-in head`. */
  field: string;
  parameters: number;
  largest: { field: string; name: string; className: string; parameters: number };
}

/**
 * The sizes of the topologies a (valid) spec's model is built of (specTopologies), one per
 * topology: what the API holds against the project's parameter quota. A head whose input is only
 * known to the worker is counted with the input it declares, or left out (the worker counts it
 * when it builds the model). The largest layer is named by its place in the spec's topology, or,
 * for a built-in part, by the spec field that sizes it (`layerFields`, e.g. `model.headUnits`).
 */
export function topologySizes(
  parts: { field: string; topology: LayersTopology; input?: readonly number[]; layerFields?: readonly string[] }[],
): {
  sizes: TopologySize[];
  parameters: number;
} {
  const sizes: TopologySize[] = [];
  for (const { field, topology, input, layerFields } of parts) {
    const result = inferTopology(topology, input);
    if (!result.ok) continue;
    const { index, layer } = largestLayer(result.inferred);
    sizes.push({
      field,
      parameters: result.inferred.parameters,
      largest: {
        field: layerFields?.[index] ?? `${field}.config.layers.${index}`,
        name: layer.name,
        className: layer.className,
        parameters: layer.parameters,
      },
    });
  }
  return { sizes, parameters: sizes.reduce((sum, s) => sum + s.parameters, 0) };
}

/**
 * How a refusal under QUOTA_MODEL_PARAMETERS ends, at submit (the API) and in the training process
 * (a head on a base only it reads), so both say the same: the quota, then the largest layer.
 */
export function parameterQuotaText(quota: number, largest: TopologySize['largest']): string {
  return `the project's quota is ${quota.toLocaleString('en')} (QUOTA_MODEL_PARAMETERS). Its largest layer, ${largest.className} '${largest.name}', holds ${largest.parameters.toLocaleString('en')}`;
}
