import { dirname, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { ImportedModelSpec } from '@trainyard/contracts';
import { keyFromUri, LocalObjectStore, type ObjectStore, storeIOHandler } from '@trainyard/storage';
import { InvalidTrainingInputError } from './invalid-training-input.error';

/** Layers buildClassifier puts on top of a base; a base must not hold layers of these names. */
export const HEAD_LAYER_NAMES = ['head_flatten', 'head_hidden', 'head_dropout', 'predictions'] as const;

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
  const head = model.name === TRAINYARD_CLASSIFIER ? layers.findIndex((l) => (HEAD_LAYER_NAMES as readonly string[]).includes(l.name)) : -1;
  let cut = head >= 0 ? head - 1 : layers.length - 1;
  if (head < 0) while (cut > 0 && TOP_LAYER_CLASSES.has(layers[cut].getClassName())) cut--;
  if (cut < 1) throw new InvalidTrainingInputError(`Model ${model.name} has no layer below its top dense layers to cut at`);
  return layers[cut].name;
}

/**
 * The model from its input up to `layerName`'s output: the layers (and their weights) are shared,
 * not copied, so building a classifier on it reuses them.
 */
export function cutModel(model: tf.LayersModel, layerName = defaultCutLayer(model), what = `model ${model.name}`): tf.LayersModel {
  const layer = model.layers.find((l) => l.name === layerName);
  if (!layer) {
    const names = model.layers.map((l) => l.name).join(', ');
    throw new InvalidTrainingInputError(`${what} has no layer '${layerName}' to cut at (its layers: ${names})`);
  }
  const base = tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor, name: `${model.name}_base` });
  const clash = base.layers.find((l) => (HEAD_LAYER_NAMES as readonly string[]).includes(l.name));
  if (clash) throw new InvalidTrainingInputError(`${what} keeps a layer named '${clash.name}' below the cut; cut at a lower layer`);
  return base;
}

/**
 * Resolves `importedModel.uri` to a store and the folder holding model.json: a URI of the
 * configured store (s3://bucket/… or its file:// root), or any local file (file:// or an absolute
 * path), read as a folder of its own. Weight shards are read from paths relative to model.json.
 */
export function importedModelLocation(uri: string, store: ObjectStore): { store: ObjectStore; prefix: string } {
  if (uri.startsWith(store.uri(''))) {
    const key = keyFromUri(store, uri);
    return { store, prefix: key.slice(0, key.length - 'model.json'.length) };
  }
  if (uri.startsWith('file://') || isAbsolute(uri)) {
    const path = uri.startsWith('file://') ? fileURLToPath(uri) : uri;
    return { store: new LocalObjectStore(dirname(path)), prefix: '' };
  }
  throw new InvalidTrainingInputError(
    `model.importedModel.uri ${uri} is neither in the configured object store (${store.uri('')}) nor a local file`,
  );
}

/** Loads an imported TF.js LayersModel (tensorflowjs_converter's model.json + weight shards) and cuts it. */
export async function loadImportedBase(spec: ImportedModelSpec, store: ObjectStore): Promise<tf.LayersModel> {
  const location = importedModelLocation(spec.uri, store);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(storeIOHandler(location.store, location.prefix));
  } catch (error) {
    throw new InvalidTrainingInputError(`model.importedModel.uri ${spec.uri} cannot be loaded as a LayersModel: ${(error as Error).message}`);
  }
  return cutModel(model, spec.cutAtLayer ?? defaultCutLayer(model), `imported model ${spec.uri}`);
}
