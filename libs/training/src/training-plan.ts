import { type TrainingSpec, trainingBudget } from '@trainyard/contracts';
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

export function planTraining(
  training: Pick<TrainingSpec, 'epochs' | 'steps' | 'batchSize'>,
  trainCount: number,
): TrainingPlan {
  const perEpoch = stepsPerEpoch(trainCount, training.batchSize);
  if (perEpoch === 0) throw new InvalidTrainingInputError('The training split is empty: nothing to train on');
  const budget = trainingBudget(training);
  const totalSteps = budget.unit === 'epochs' ? budget.epochs * perEpoch : budget.steps;
  return { stepsPerEpoch: perEpoch, epochs: Math.ceil(totalSteps / perEpoch), totalSteps };
}

/** The batches 0-based epoch `epochIndex` trains: all of them, but in a steps budget's last epoch. */
export function batchesInEpoch(plan: TrainingPlan, epochIndex: number): number {
  return Math.min(plan.stepsPerEpoch, plan.totalSteps - epochIndex * plan.stepsPerEpoch);
}
