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

/** tfjs marks the optimizer's weights (Adam's iteration count and moments…) with this group. */
const OPTIMIZER_GROUP = 'optimizer';

/** Whether saved artifacts carry optimizer state (`includeOptimizer`: at least the iteration count). */
export function hasOptimizerState(artifacts: tf.io.ModelArtifacts): boolean {
  return (artifacts.weightSpecs ?? []).some((spec) => spec.group === OPTIMIZER_GROUP);
}

/**
 * Loads a checkpoint's weights AND optimizer state into a compiled model of the same topology.
 * tfjs's `includeOptimizer` appends `optimizer.getWeights()` (iteration count, then e.g. Adam's
 * first and second moments in trainable-weight order) to weights.bin; `optimizer.setWeights`
 * takes them back and rederives Adam's beta powers from the count (recomputed here as training
 * computed them, see below). Done here rather than by `loadLayersModel` because that would
 * compile the model with an optimizer of its own.
 */
export async function restoreTrainingState(model: tf.LayersModel, artifacts: tf.io.ModelArtifacts): Promise<void> {
  if (!artifacts.weightData || !artifacts.weightSpecs)
    throw new Error(`Checkpoint of model ${model.name} has no weights`);
  if (!model.optimizer) throw new Error(`Model ${model.name} must be compiled before its optimizer state is restored`);
  const tensors = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs);
  try {
    const weights: tf.NamedTensorMap = {};
    const optimizer: { name: string; tensor: tf.Tensor }[] = [];
    for (const spec of artifacts.weightSpecs) {
      if (spec.group === OPTIMIZER_GROUP) optimizer.push({ name: spec.name, tensor: tensors[spec.name] });
      else weights[spec.name] = tensors[spec.name];
    }
    if (optimizer.length === 0) throw new Error(`Checkpoint of model ${model.name} holds no optimizer state`);
    model.loadWeights(weights, true);
    await model.optimizer.setWeights(optimizer);
    replayAdamBetaPowers(model.optimizer);
  } finally {
    // setWeights and loadWeights keep copies (variables); the decoded tensors are ours to free.
    tf.dispose(Object.values(tensors));
  }
}

/**
 * tfjs's Adam keeps βᵗ⁺¹ (its bias corrections) as running products, multiplied by β in float32
 * after every step; `setWeights` rederives them as pow(β, t + 1), which lands a ULP or so away,
 * enough that a resumed run's losses drift from the uninterrupted run's. Replays the products
 * instead, in float32 as training does (a product of two float32 values is exact in a double, so
 * `Math.fround` rounds it once, as a float32 multiply does): the run resumes bit for bit.
 */
export function replayAdamBetaPowers(optimizer: tf.Optimizer): void {
  if (!(optimizer instanceof tf.AdamOptimizer)) return;
  const adam = optimizer as unknown as { beta1: number; beta2: number; accBeta1: tf.Variable; accBeta2: tf.Variable };
  const steps = optimizer.iterations;
  const power = (beta: number) => {
    const b = Math.fround(beta);
    let acc = b;
    for (let i = 0; i < steps; i++) acc = Math.fround(acc * b);
    return acc;
  };
  tf.tidy(() => {
    adam.accBeta1.assign(tf.scalar(power(adam.beta1)));
    adam.accBeta2.assign(tf.scalar(power(adam.beta2)));
  });
}
