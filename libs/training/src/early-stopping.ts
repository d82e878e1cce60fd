import { type EarlyStoppingSpec, type MetricGoal, metricGoal } from '@trainyard/contracts';

/**
 * Whether `value` beats `reference` by more than `minDelta` in the goal's direction. The first
 * value (no reference yet) does; NaN and ±Infinity never do.
 */
export function improves(goal: MetricGoal, value: number, reference: number | null, minDelta = 0): boolean {
  if (!Number.isFinite(value)) return false;
  if (reference === null) return true;
  return goal === 'min' ? value < reference - minDelta : value > reference + minDelta;
}

/** Early stopping's memory between validation rounds: the value to beat, and rounds since it was set. */
export interface EarlyStoppingState {
  reference: number | null;
  wait: number;
}

export const FRESH_EARLY_STOPPING: EarlyStoppingState = { reference: null, wait: 0 };

/**
 * One validation round (Keras's EarlyStopping): an improvement by more than `minDelta` becomes
 * the value to beat; otherwise the round counts, and `patience` such rounds in a row stop training.
 */
export function observeEarlyStopping(
  rule: EarlyStoppingSpec,
  state: EarlyStoppingState,
  value: number,
): { state: EarlyStoppingState; stop: boolean } {
  if (improves(metricGoal(rule.metric), value, state.reference, rule.minDelta))
    return { state: { reference: value, wait: 0 }, stop: false };
  const wait = state.wait + 1;
  return { state: { reference: state.reference, wait }, stop: wait >= rule.patience };
}
