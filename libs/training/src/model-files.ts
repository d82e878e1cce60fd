import * as tf from '@tensorflow/tfjs';
import { modelArtifactsToFiles } from '@trainyard/storage';

/** A model's artifacts in memory, as `model.save` would hand them to a storage handler. */
export async function modelArtifacts(model: tf.LayersModel, includeOptimizer: boolean): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer },
  );
  if (!captured) throw new Error(`Saving model ${model.name} produced no artifacts`);
  return captured;
}

/**
 * Checkpoint files for named models (`<name>/model.json`, `<name>/weights.bin`) plus `state.json`.
 * The optimizer state is saved with models that have one (the model being trained).
 */
export async function checkpointFiles(
  models: Record<string, tf.LayersModel>,
  state: Record<string, unknown>,
): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  for (const [name, model] of Object.entries(models)) {
    Object.assign(files, modelArtifactsToFiles(name, await modelArtifacts(model, model.optimizer !== undefined)));
  }
  files['state.json'] = Buffer.from(JSON.stringify(state, null, 2));
  return files;
}

/** Restores a model from in-memory artifacts (e.g. a checkpoint's files). */
export function loadModelFromArtifacts(artifacts: tf.io.ModelArtifacts): Promise<tf.LayersModel> {
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}
