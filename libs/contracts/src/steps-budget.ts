import type { FieldError } from './field-errors';
import { MAX_TRAINING_EPOCHS, type TrainingSpec, trainingBudget } from './training-spec.schema';

/**
 * MAX_TRAINING_EPOCHS bounds `training.epochs`, but a `training.steps` budget becomes epochs only
 * over a dataset's size: a million steps over ten images are a million epochs of one step, each
 * validated and (by default) checkpointed. These say how many epochs a budget spans, so that the
 * API (where the spec bounds the images an epoch trains on) and the training process (where the
 * training split is known) refuse the same budgets.
 */

/**
 * Epochs a budget spans when an epoch trains on `imagesPerEpoch` images (above 0): its epochs, or
 * its steps over `ceil(images / batchSize)` steps an epoch, the last epoch possibly cut short.
 */
export function epochsInBudget(
  training: Pick<TrainingSpec, 'epochs' | 'steps' | 'batchSize'>,
  imagesPerEpoch: number,
): number {
  const budget = trainingBudget(training);
  if (budget.unit === 'epochs') return budget.epochs;
  return Math.ceil(budget.steps / Math.ceil(imagesPerEpoch / training.batchSize));
}

/**
 * Why a `training.steps` budget spans more than MAX_TRAINING_EPOCHS epochs, or null when it fits
 * (an epochs budget always does; no images is another check's to refuse). `imagesPerEpoch` is the
 * training split's size when `exact`, else an upper bound on it (the spec's images, before the
 * validation split): the epochs then are at least those said, so a budget refused here is refused
 * by the training process too.
 */
export function stepsBudgetError(
  training: Pick<TrainingSpec, 'epochs' | 'steps' | 'batchSize'>,
  imagesPerEpoch: number,
  { exact = false }: { exact?: boolean } = {},
): FieldError | null {
  if (training.steps === undefined || !(imagesPerEpoch > 0)) return null;
  const epochs = epochsInBudget(training, imagesPerEpoch);
  if (epochs <= MAX_TRAINING_EPOCHS) return null;
  const n = (v: number) => v.toLocaleString('en');
  const images = exact ? `the ${n(imagesPerEpoch)} training images` : `at most ${n(imagesPerEpoch)} images an epoch`;
  return {
    field: 'training.steps',
    message: `${n(training.steps)} steps of batch size ${n(training.batchSize)} over ${images} are ${exact ? '' : 'at least '}${n(epochs)} epochs; a run trains at most ${n(MAX_TRAINING_EPOCHS)} (MAX_TRAINING_EPOCHS). Give fewer steps, a training.epochs budget, or more images`,
  };
}
