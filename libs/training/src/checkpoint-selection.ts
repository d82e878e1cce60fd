import type * as tf from '@tensorflow/tfjs';
import type { CheckpointSelection, MetricGoal } from '@trainyard/contracts';
import { filesToModelArtifacts } from '@trainyard/storage';
import type { EpochLoopResult } from './epoch-loop';
import { loadModelFromArtifacts } from './model-files';
import type { TrainingHooks } from './training-hooks';
import { namingMemoryFailures } from './memory-failure';

/**
 * The test report of a completed run's best weights, with how they were chosen and the test of
 * its last weights. The last weights are the model in memory; the best, when they are not the
 * last, are read back from their checkpoint (stored at the round they became best, kept by
 * retention), so what is tested is exactly what a later evaluation of that checkpoint would load.
 * `saved.test` runs on batches of `saved.batch` (evaluationBatch): running out of memory in it is named so.
 */
export async function testBestAndLast<R extends object>(
  loop: Extract<EpochLoopResult, { status: 'completed' }>,
  selection: { metric: string; goal: MetricGoal },
  hooks: Pick<TrainingHooks, 'readCheckpoint'>,
  saved: { model: string; test(model: tf.LayersModel): Promise<R>; batch: number },
  current: tf.LayersModel,
): Promise<R & { selection: CheckpointSelection<R> }> {
  const { tracking, last } = loop;
  // Out of the backend's memory: an error naming the batch size (for good when no step ever trained).
  const test = (model: tf.LayersModel) =>
    namingMemoryFailures({ pass: 'test', batch: saved.batch, firstOfRun: last.step < 0 }, () => saved.test(model));
  const lastTest = await test(current);
  const best = tracking.best;
  const choice = {
    metric: selection.metric,
    goal: selection.goal,
    last: { ...last, test: lastTest },
    stoppedEarly: tracking.stoppedEarly,
  };
  if (!best || best.step === last.step) return { ...lastTest, selection: { ...choice, best: last } };
  if (best.sequence === null) throw new Error(`The best weights (step ${best.step}) were never stored in a checkpoint`);
  const files = await hooks.readCheckpoint(best.sequence);
  const model = await loadModelFromArtifacts({
    ...filesToModelArtifacts(saved.model, files),
    trainingConfig: undefined,
  });
  try {
    const bestTest = await test(model);
    const position = {
      epoch: best.epoch,
      step: best.step,
      sequence: best.sequence,
      validation: { name: selection.metric, value: best.value },
    };
    return { ...bestTest, selection: { ...choice, best: position } };
  } finally {
    model.dispose();
  }
}
