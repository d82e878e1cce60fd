import { epochsInBudget, stepsBudgetError } from './steps-budget';
import { MAX_TRAINING_EPOCHS, MAX_TRAINING_STEPS, TrainingSpecSchema } from './training-spec.schema';

describe('a steps budget in epochs', () => {
  it('spans ceil(steps / steps an epoch) epochs, an epochs budget its own', () => {
    expect(epochsInBudget({ steps: 7, batchSize: 8 }, 20)).toBe(3);
    expect(epochsInBudget({ steps: 6, batchSize: 8 }, 20)).toBe(2);
    expect(epochsInBudget({ epochs: 4, batchSize: 8 }, 20)).toBe(4);
  });

  it('refuses a million steps over mnist limit 10 (a million one-step epochs), naming training.steps', () => {
    const training = TrainingSpecSchema.parse({ steps: MAX_TRAINING_STEPS, batchSize: 10 });
    expect(stepsBudgetError(training, 10)).toEqual({
      field: 'training.steps',
      message:
        '1,000,000 steps of batch size 10 over at most 10 images an epoch are at least 1,000,000 epochs; a run trains at most 1,000 (MAX_TRAINING_EPOCHS). Give fewer steps, a training.epochs budget, or more images',
    });
    expect(stepsBudgetError(training, 9, { exact: true })?.message).toMatch(
      /^1,000,000 steps of batch size 10 over the 9 training images are 1,000,000 epochs;/,
    );
  });

  it('takes a budget of exactly MAX_TRAINING_EPOCHS epochs and refuses one step more', () => {
    // 25 images at batch 8: 4 steps an epoch.
    expect(stepsBudgetError({ steps: 4 * MAX_TRAINING_EPOCHS, batchSize: 8 }, 25)).toBeNull();
    expect(stepsBudgetError({ steps: 4 * MAX_TRAINING_EPOCHS + 1, batchSize: 8 }, 25)?.message).toMatch(
      /are at least 1,001 epochs/,
    );
  });

  it('leaves epochs budgets and unknown sizes alone', () => {
    expect(stepsBudgetError({ epochs: MAX_TRAINING_EPOCHS, batchSize: 1 }, 1)).toBeNull();
    expect(stepsBudgetError({ steps: MAX_TRAINING_STEPS, batchSize: 1 }, 0)).toBeNull();
    expect(stepsBudgetError({ steps: 500_000, batchSize: 64 }, 60_000)).toBeNull();
  });

  it('holds MAX_TRAINING_STEPS to the epochs limit too: at batch 64, 60,000 MNIST digits take 1,067 epochs', () => {
    expect(stepsBudgetError({ steps: MAX_TRAINING_STEPS, batchSize: 64 }, 60_000)?.message).toMatch(
      /are at least 1,067 epochs/,
    );
  });
});
