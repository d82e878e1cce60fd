import { MAX_TRAINING_EPOCHS, MAX_TRAINING_STEPS } from '@trainyard/contracts';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { planTraining } from './training-plan';

describe('planTraining: a steps budget over a small training split', () => {
  it('refuses a budget past MAX_TRAINING_EPOCHS epochs for good, naming training.steps, the epochs and the limit', () => {
    // mnist limit 10 less its validation image: 9 images, one step an epoch, a million epochs.
    const plan = () => planTraining({ steps: MAX_TRAINING_STEPS, batchSize: 10 }, 9);
    expect(plan).toThrow(InvalidTrainingInputError);
    expect(plan).toThrow(
      /^training\.steps: 1,000,000 steps of batch size 10 over the 9 training images are 1,000,000 epochs; a run trains at most 1,000 \(MAX_TRAINING_EPOCHS\)/,
    );
  });

  it('takes one of exactly MAX_TRAINING_EPOCHS epochs', () => {
    expect(planTraining({ steps: 3 * MAX_TRAINING_EPOCHS, batchSize: 8 }, 20)).toEqual({
      stepsPerEpoch: 3,
      epochs: MAX_TRAINING_EPOCHS,
      totalSteps: 3 * MAX_TRAINING_EPOCHS,
    });
    expect(() => planTraining({ steps: 3 * MAX_TRAINING_EPOCHS + 1, batchSize: 8 }, 20)).toThrow(/1,001 epochs/);
  });
});
