import * as tf from '@tensorflow/tfjs';
import type { ImportedModelSpec } from '@trainyard/contracts';
import {
  importedModelIOHandler,
  LocalPathRefusedError,
  locateModelFile,
  ModelFileRefusedError,
  type ModelFileLocation,
  ModelUriRefusedError,
  type ObjectStore,
} from '@trainyard/storage';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { LAYERS_ENCODER, LAYERS_HEAD_PREFIX } from './layers.model';

/** Layers buildClassifier puts on top of a base; a base must not hold layers of these names. */
export const HEAD_LAYER_NAMES = ['head_flatten', 'head_norm', 'head_hidden', 'head_dropout', 'predictions'] as const;

/** A layer of a classifier's head: the built-in head's, or a spec's own (`layers.head`, renamed `head_l<i>_…`). */
export function isHeadLayer(name: string): boolean {
  return (HEAD_LAYER_NAMES as readonly string[]).includes(name) || name.startsWith(LAYERS_HEAD_PREFIX);
}

/** The name buildClassifier gives its models (kept in model.json, so a checkpointed classifier is recognised). */
export const TRAINYARD_CLASSIFIER = 'classifier';

/** Top layers a default cut removes: the classifier top of Keras applications (fc1, fc2, predictions…). */
const TOP_LAYER_CLASSES = new Set(['Dense', 'Dropout', 'Activation', 'Softmax']);

/**
 * Where a model is cut by default: below its top dense layers (and their dropouts), as the Keras
 * recipe replaces `include_top`. A Trainyard classifier is cut below its own head instead, so its
 * encoder's latent dense layer stays in the base.
 */
export function defaultCutLayer(model: tf.LayersModel): string {
  const layers = model.layers;
  // Keras names its own top 'predictions' too: only a model built by buildClassifier ('classifier') is cut at our head.
  const head = model.name === TRAINYARD_CLASSIFIER ? layers.findIndex((l) => isHeadLayer(l.name)) : -1;
  let cut = head >= 0 ? head - 1 : layers.length - 1;
  if (head < 0) while (cut > 0 && TOP_LAYER_CLASSES.has(layers[cut].getClassName())) cut--;
  if (cut < 1)
    throw new InvalidTrainingInputError(`Model ${model.name} has no layer below its top dense layers to cut at`);
  return layers[cut].name;
}

/**
 * The model from its input up to `layerName`'s output: the layers (and their weights) are shared,
 * not copied, so building a classifier on it reuses them.
 */
export function cutModel(
  model: tf.LayersModel,
  layerName = defaultCutLayer(model),
  what = `model ${model.name}`,
): tf.LayersModel {
  const layer = model.layers.find((l) => l.name === layerName);
  if (!layer) {
    const names = model.layers.map((l) => l.name).join(', ');
    throw new InvalidTrainingInputError(`${what} has no layer '${layerName}' to cut at (its layers: ${names})`);
  }
  const base = tf.model({
    inputs: model.inputs,
    outputs: layer.output as tf.SymbolicTensor,
    name: `${model.name}_base`,
  });
  const clash = base.layers.find((l) => isHeadLayer(l.name));
  if (clash)
    throw new InvalidTrainingInputError(
      `${what} keeps a layer named '${clash.name}' below the cut; cut at a lower layer`,
    );
  return base;
}

/**
 * Where a cut of a Trainyard encoder ends: its 'latent' layer, or for 'conv' its last pooling
 * layer (the output of the convolutions, before the flatten and the dense latent).
 */
export function encoderCutLayer(model: tf.LayersModel, cutAt: 'conv' | 'latent', what = `model ${model.name}`): string {
  if (model.name === LAYERS_ENCODER)
    throw new InvalidTrainingInputError(`${what} is an encoder of the spec's own layers, used whole; drop model.cutAt`);
  if (cutAt === 'latent') return 'latent';
  const pools = model.layers.filter((l) => /^enc_pool\d+$/.test(l.name));
  if (pools.length === 0)
    throw new InvalidTrainingInputError(`${what} has no convolutional block (enc_pool<n>) to cut after`);
  return pools[pools.length - 1].name;
}

/**
 * Where `importedModel.uri`'s model.json is: a key of the configured store (its bucket only), or a
 * local file under the worker's TRAINYARD_LOCAL_ROOTS (file:// or an absolute path, resolved with
 * realpath). Refusals are InvalidTrainingInputError naming the field.
 */
export async function importedModelLocation(
  uri: string,
  store: ObjectStore,
  localRoots: readonly string[],
): Promise<ModelFileLocation> {
  try {
    return await locateModelFile(uri, store, localRoots);
  } catch (error) {
    if (error instanceof LocalPathRefusedError || error instanceof ModelUriRefusedError) {
      throw new InvalidTrainingInputError(`model.importedModel.uri ${error.message}`);
    }
    throw error;
  }
}

/**
 * Loads an imported TF.js LayersModel (tensorflowjs_converter's model.json + weight shards) and cuts
 * it. Weight shards are read only inside model.json's folder (importedModelIOHandler): a path that
 * leaves it, a link out of it or a key in a folder no project owns fails the run, naming the file.
 */
export async function loadImportedBase(
  spec: ImportedModelSpec,
  store: ObjectStore,
  localRoots: readonly string[],
): Promise<tf.LayersModel> {
  const location = await importedModelLocation(spec.uri, store, localRoots);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(importedModelIOHandler(location, store));
  } catch (error) {
    if (error instanceof ModelFileRefusedError || error instanceof ModelUriRefusedError)
      throw new InvalidTrainingInputError(`model.importedModel.uri ${spec.uri}: ${error.message}`);
    throw new InvalidTrainingInputError(
      `model.importedModel.uri ${spec.uri} cannot be loaded as a LayersModel: ${(error as Error).message}`,
    );
  }
  return cutModel(model, spec.cutAtLayer ?? defaultCutLayer(model), `imported model ${spec.uri}`);
}
