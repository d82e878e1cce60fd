import type * as tf from '@tensorflow/tfjs';
import type { FreezingSpec, TrainingSpec } from '@trainyard/contracts';
import { isHeadLayer } from './base-model';
import type { LoopPosition } from './training-state';

/** Stage 1 trains as the mode says ('none': everything, otherwise the head only); stage 2 is two-stage's second. */
export type FreezeStage = 1 | 2;

/** The base's layers in a classifier: every layer but the inputs and the head. */
export function baseLayers(classifier: tf.LayersModel): tf.layers.Layer[] {
  return classifier.layers.filter((l) => l.getClassName() !== 'InputLayer' && !isHeadLayer(l.name));
}

/**
 * Sets which base layers train in a stage. In stage 2 the top `unfreezeTopLayers` base layers that
 * hold weights (pooling and flatten layers have nothing to unfreeze, so they are not counted)
 * train again. tfjs reads `trainable` at compile time: compile after calling this.
 */
export function applyFreezing(classifier: tf.LayersModel, freezing: FreezingSpec, stage: FreezeStage): void {
  const base = baseLayers(classifier);
  const frozen = freezing.mode !== 'none';
  for (const layer of base) layer.trainable = !frozen;
  if (freezing.mode === 'two-stage' && stage === 2) {
    const withWeights = base.filter((l) => l.weights.length > 0);
    for (const layer of withWeights.slice(-freezing.unfreezeTopLayers)) layer.trainable = true;
  }
}

/**
 * The stage a position trains in: two-stage switches at the start of 0-based epoch
 * `unfreezeAfterEpochs`, so a checkpoint at exactly that boundary still holds stage 1's optimizer
 * state, and the switch happens again (identically) when a resumed run reaches it.
 */
export function stageAt(freezing: FreezingSpec, position: LoopPosition | undefined): FreezeStage {
  if (freezing.mode !== 'two-stage' || !position) return 1;
  const after = freezing.unfreezeAfterEpochs;
  return position.epoch > after || (position.epoch === after && position.nextBatch > 0) ? 2 : 1;
}

/** Learning rate of a stage: stage 2 uses `fineTuneLearningRate`, by default a tenth of the first. */
export function stageLearningRate(freezing: FreezingSpec, training: TrainingSpec, stage: FreezeStage): number {
  if (stage === 1) return training.learningRate;
  return freezing.fineTuneLearningRate ?? training.learningRate / 10;
}
