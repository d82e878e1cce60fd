import type { EarlyStoppingSpec, LearningRateSchedule, MetricGoal } from '@trainyard/contracts';
import { type EarlyStoppingState, FRESH_EARLY_STOPPING, improves, observeEarlyStopping } from './early-stopping';
import { FRESH_PLATEAU, observePlateau, type PlateauState } from './learning-rate-schedule';

/** What the loop watches after each epoch's validation. */
export interface ValidationRules {
  /** The metric the best weights are chosen by (and checkpoints carry). */
  selection?: { metric: string; goal: MetricGoal };
  earlyStopping?: EarlyStoppingSpec;
  schedule?: LearningRateSchedule;
}

/** The best weights so far: their metric value and position, and the checkpoint holding them. */
export interface BestWeights {
  value: number;
  epoch: number;
  step: number;
  /** null only in the state.json of the checkpoint that holds them (its sequence is given at write). */
  sequence: number | null;
}

/**
 * Everything the validation rules remember between rounds. It is saved in every checkpoint's
 * state.json, so a resumed run stops, reduces its learning rate and picks its best exactly as the
 * uninterrupted run would.
 */
export interface ValidationTracking {
  best: BestWeights | null;
  earlyStopping: EarlyStoppingState | null;
  plateau: PlateauState | null;
  /** Where early stopping ended training, once it has. */
  stoppedEarly: { epoch: number; step: number } | null;
}

export function freshTracking(rules: ValidationRules): ValidationTracking {
  return {
    best: null,
    earlyStopping: rules.earlyStopping ? FRESH_EARLY_STOPPING : null,
    plateau: rules.schedule?.type === 'reduceOnPlateau' ? FRESH_PLATEAU : null,
    stoppedEarly: null,
  };
}

/**
 * One validation round at the end of an epoch. The best moves only on a strict improvement, so
 * the earliest of equal values stays best, as checkpoint retention keeps it (it must not delete
 * the checkpoint tested as best). A metric missing from `values` (no validation data) changes nothing.
 */
export function observeValidation(
  rules: ValidationRules,
  tracking: ValidationTracking,
  values: Record<string, number>,
  at: { epoch: number; step: number },
): { tracking: ValidationTracking; newBest: boolean; stop: boolean } {
  const next = { ...tracking };
  let newBest = false;
  let stop = false;
  const selected = rules.selection ? values[rules.selection.metric] : undefined;
  if (
    rules.selection &&
    selected !== undefined &&
    improves(rules.selection.goal, selected, tracking.best?.value ?? null)
  ) {
    next.best = { value: selected, epoch: at.epoch, step: at.step, sequence: null };
    newBest = true;
  }
  const watched = rules.earlyStopping ? values[rules.earlyStopping.metric] : undefined;
  if (rules.earlyStopping && watched !== undefined) {
    const observed = observeEarlyStopping(rules.earlyStopping, tracking.earlyStopping ?? FRESH_EARLY_STOPPING, watched);
    next.earlyStopping = observed.state;
    stop = observed.stop;
  }
  const plateau = rules.schedule?.type === 'reduceOnPlateau' ? rules.schedule : undefined;
  const plateauValue = plateau ? values[plateau.metric] : undefined;
  if (plateau && plateauValue !== undefined)
    next.plateau = observePlateau(plateau, tracking.plateau ?? FRESH_PLATEAU, plateauValue);
  return { tracking: next, newBest, stop };
}
