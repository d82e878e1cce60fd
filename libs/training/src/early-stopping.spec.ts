import { EarlyStoppingSchema } from '@trainyard/contracts';
import { FRESH_EARLY_STOPPING, improves, observeEarlyStopping } from './early-stopping';

describe('improves', () => {
  it('compares in the goal’s direction, by more than minDelta', () => {
    expect(improves('min', 0.5, 0.6)).toBe(true);
    expect(improves('min', 0.6, 0.6)).toBe(false);
    expect(improves('min', 0.55, 0.6, 0.1)).toBe(false);
    expect(improves('max', 0.8, 0.7)).toBe(true);
    expect(improves('max', 0.75, 0.7, 0.05)).toBe(false);
  });
  it('takes any finite first value, and never NaN or ±Infinity', () => {
    expect(improves('min', 123, null)).toBe(true);
    expect(improves('min', NaN, null)).toBe(false);
    expect(improves('min', -Infinity, 1)).toBe(false);
    expect(improves('max', Infinity, 1)).toBe(false);
  });
});

describe('observeEarlyStopping', () => {
  const run = (rule: object, values: number[]) => {
    const parsed = EarlyStoppingSchema.parse(rule);
    let state = FRESH_EARLY_STOPPING;
    const stops: boolean[] = [];
    for (const value of values) {
      const observed = observeEarlyStopping(parsed, state, value);
      state = observed.state;
      stops.push(observed.stop);
    }
    return { stops, state };
  };

  it('stops after `patience` rounds in a row without improvement', () => {
    expect(run({ metric: 'val_loss', patience: 2 }, [1, 0.9, 0.95, 0.92, 0.91]).stops).toEqual([
      false,
      false,
      false,
      true,
      true,
    ]);
    expect(run({ metric: 'val_loss', patience: 1 }, [1, 1.1]).stops).toEqual([false, true]);
  });

  it('resets the count on an improvement', () => {
    const { stops, state } = run({ metric: 'val_accuracy', patience: 2 }, [0.5, 0.5, 0.6, 0.6, 0.7]);
    expect(stops).toEqual([false, false, false, false, false]);
    expect(state).toEqual({ reference: 0.7, wait: 0 });
  });

  it('counts an improvement smaller than minDelta as none, and keeps the old reference', () => {
    const { stops, state } = run({ metric: 'val_loss', patience: 2, minDelta: 0.1 }, [1, 0.95, 0.91]);
    expect(stops).toEqual([false, false, true]);
    expect(state).toEqual({ reference: 1, wait: 2 });
  });

  it('counts a NaN round as one without improvement', () => {
    expect(run({ metric: 'val_loss', patience: 2 }, [1, NaN, NaN]).stops).toEqual([false, false, true]);
  });
});
