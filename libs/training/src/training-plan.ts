import { epochsInBudget, stepsBudgetError, type TrainingSpec, trainingBudget } from '@trainyard/contracts';
import { stepsPerEpoch } from './batches';
import { InvalidTrainingInputError } from './invalid-training-input.error';

/**
 * How a budget lays out over the training split: `epochs` epochs of `stepsPerEpoch` batches, the
 * last one cut short at `totalSteps` when a steps budget ends inside it. Global step `s` is batch
 * `s % stepsPerEpoch` of 0-based epoch `floor(s / stepsPerEpoch)` whatever the budget.
 */
export interface TrainingPlan {
  stepsPerEpoch: number;
  epochs: number;
  totalSteps: number;
}

/**
 * Throws InvalidTrainingInputError for an empty training split, and for a steps budget that spans
 * more than MAX_TRAINING_EPOCHS epochs of it (each epoch is validated and may be checkpointed): the
 * API refuses those it can tell from the spec; a folder's or a split's size is only known here.
 */
export function planTraining(
  training: Pick<TrainingSpec, 'epochs' | 'steps' | 'batchSize'>,
  trainCount: number,
): TrainingPlan {
  const perEpoch = stepsPerEpoch(trainCount, training.batchSize);
  if (perEpoch === 0) throw new InvalidTrainingInputError('The training split is empty: nothing to train on');
  const tooLong = stepsBudgetError(training, trainCount, { exact: true });
  if (tooLong) throw new InvalidTrainingInputError(`${tooLong.field}: ${tooLong.message}`);
  const budget = trainingBudget(training);
  const totalSteps = budget.unit === 'epochs' ? budget.epochs * perEpoch : budget.steps;
  return { stepsPerEpoch: perEpoch, epochs: epochsInBudget(training, trainCount), totalSteps };
}

/** The batches 0-based epoch `epochIndex` trains: all of them, but in a steps budget's last epoch. */
export function batchesInEpoch(plan: TrainingPlan, epochIndex: number): number {
  return Math.min(plan.stepsPerEpoch, plan.totalSteps - epochIndex * plan.stepsPerEpoch);
}
