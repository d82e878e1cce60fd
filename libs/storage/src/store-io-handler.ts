import type { io } from '@tensorflow/tfjs-core';
import type { ObjectStore } from './object-store';
import { decodeModelArtifacts, encodeModelArtifacts, MODEL_JSON, parseModelJson, WEIGHTS_BIN } from './model-artifacts';

/**
 * A tfjs IOHandler over an ObjectStore: `model.save(storeIOHandler(store, 'models/x/'))` and
 * `tf.loadLayersModel(storeIOHandler(store, 'models/x/'))`. `prefix` is used as is, so end it with
 * `/` for a folder.
 */
export function storeIOHandler(store: ObjectStore, prefix: string): io.IOHandler {
  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      const { modelJson, weights } = encodeModelArtifacts(artifacts);
      // Weights first: a model.json is only ever visible next to the weights it describes.
      await store.put(`${prefix}${WEIGHTS_BIN}`, weights);
      await store.put(`${prefix}${MODEL_JSON}`, modelJson);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: Buffer.byteLength(JSON.stringify(artifacts.modelTopology)),
          weightSpecsBytes: Buffer.byteLength(JSON.stringify(artifacts.weightSpecs ?? [])),
          weightDataBytes: weights.length,
        },
      };
    },
    async load(): Promise<io.ModelArtifacts> {
      const jsonKey = `${prefix}${MODEL_JSON}`;
      const json = parseModelJson(await store.get(jsonKey), store.uri(jsonKey));
      const shards: Buffer[] = [];
      for (const group of json.weightsManifest) {
        for (const path of group.paths) shards.push(await store.get(`${prefix}${path}`));
      }
      return decodeModelArtifacts(json, shards);
    },
  };
}
