import { EarlyStoppingSchema, LearningRateScheduleSchema } from '@trainyard/contracts';
import { batchesInEpoch, planTraining } from './training-plan';
import { freshTracking, observeValidation, type ValidationRules, type ValidationTracking } from './validation-tracking';

function rounds(rules: ValidationRules, values: Record<string, number>[]) {
  let tracking: ValidationTracking = freshTracking(rules);
  return values.map((v, i) => {
    const observed = observeValidation(rules, tracking, v, { epoch: i + 1, step: (i + 1) * 10 - 1 });
    tracking = observed.tracking;
    return { ...observed, tracking };
  });
}

describe('observeValidation', () => {
  const selection = { metric: 'val_loss', goal: 'min' } as const;

  it('keeps the earliest of equal best values, as checkpoint retention does, and never a NaN', () => {
    const seen = rounds({ selection }, [
      { val_loss: 0.5 },
      { val_loss: NaN },
      { val_loss: 0.4 },
      { val_loss: 0.4 },
      { val_loss: 0.45 },
    ]);
    expect(seen.map((r) => r.newBest)).toEqual([true, false, true, false, false]);
    expect(seen.at(-1)!.tracking.best).toEqual({ value: 0.4, epoch: 3, step: 29, sequence: null });
  });

  it('changes nothing for a round without the watched metrics (no validation data)', () => {
    const rules = { selection, earlyStopping: EarlyStoppingSchema.parse({ patience: 1 }) };
    const [round] = rounds(rules, [{}]);
    expect(round).toEqual({ tracking: freshTracking(rules), newBest: false, stop: false });
  });

  it('stops on its own metric while the best follows the selection metric', () => {
    const rules = {
      selection: { metric: 'val_accuracy', goal: 'max' } as const,
      earlyStopping: EarlyStoppingSchema.parse({ metric: 'val_loss', patience: 2 }),
    };
    const seen = rounds(rules, [
      { val_loss: 1, val_accuracy: 0.5 },
      { val_loss: 1.1, val_accuracy: 0.6 },
      { val_loss: 1.2, val_accuracy: 0.55 },
    ]);
    expect(seen.map((r) => [r.newBest, r.stop])).toEqual([
      [true, false],
      [true, false],
      [false, true],
    ]);
    expect(seen[2].tracking.best?.epoch).toBe(2);
  });

  it('tracks reduceOnPlateau only when it is the schedule', () => {
    const schedule = LearningRateScheduleSchema.parse({ type: 'reduceOnPlateau', patience: 1, factor: 0.5 });
    expect(rounds({ schedule }, [{ val_loss: 1 }, { val_loss: 1 }]).map((r) => r.tracking.plateau?.scale)).toEqual([
      1, 0.5,
    ]);
    expect(freshTracking({ schedule: LearningRateScheduleSchema.parse({ type: 'cosine' }) }).plateau).toBeNull();
  });
});

describe('planTraining', () => {
  it('lays an epochs budget out in whole epochs', () => {
    expect(planTraining({ epochs: 3, batchSize: 8 }, 20)).toEqual({ stepsPerEpoch: 3, epochs: 3, totalSteps: 9 });
  });
  it('ends a steps budget part-way through its last epoch', () => {
    const plan = planTraining({ steps: 7, batchSize: 8 }, 20);
    expect(plan).toEqual({ stepsPerEpoch: 3, epochs: 3, totalSteps: 7 });
    expect([0, 1, 2].map((e) => batchesInEpoch(plan, e))).toEqual([3, 3, 1]);
  });
  it('refuses an empty training split', () => {
    expect(() => planTraining({ steps: 7, batchSize: 8 }, 0)).toThrow('The training split is empty');
  });
});
