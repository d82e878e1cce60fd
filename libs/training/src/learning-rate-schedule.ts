import { type LearningRateSchedule, metricGoal } from '@trainyard/contracts';
import { improves } from './early-stopping';
import type { TrainingPlan } from './training-plan';

type ReduceOnPlateau = Extract<LearningRateSchedule, { type: 'reduceOnPlateau' }>;

/**
 * The learning rate of global step `step` (in 0-based epoch `epochIndex`): `base` (the stage's
 * learning rate) moved by the schedule. A pure function of the position, the plan and
 * `plateauScale` (reduceOnPlateau's accumulated factor), so a resumed run sets the same rates.
 */
export function scheduledLearningRate(
  schedule: LearningRateSchedule | undefined,
  base: number,
  at: { step: number; epochIndex: number },
  plan: TrainingPlan,
  plateauScale = 1,
): number {
  if (!schedule) return base;
  const warm = at.step < schedule.warmupSteps ? (at.step + 1) / schedule.warmupSteps : 1;
  switch (schedule.type) {
    case 'constant':
      return base * warm;
    case 'step': {
      const decays =
        schedule.everyEpochs !== undefined
          ? Math.floor(at.epochIndex / schedule.everyEpochs)
          : Math.floor(at.step / schedule.everySteps!);
      return base * schedule.factor ** decays * warm;
    }
    case 'cosine': {
      const floor = Math.min(schedule.minLearningRate, base);
      const span = plan.totalSteps - schedule.warmupSteps;
      const progress = span <= 0 ? 1 : Math.min(1, Math.max(0, (at.step - schedule.warmupSteps) / span));
      return (floor + (base - floor) * 0.5 * (1 + Math.cos(Math.PI * progress))) * warm;
    }
    case 'reduceOnPlateau':
      return Math.max(base * plateauScale, Math.min(schedule.minLearningRate, base)) * warm;
  }
}

/** reduceOnPlateau's memory between validation rounds. */
export interface PlateauState {
  reference: number | null;
  wait: number;
  /** Rounds of rest left after a reduction. */
  cooldown: number;
  /** The product of the reductions so far (1 before the first). */
  scale: number;
}

export const FRESH_PLATEAU: PlateauState = { reference: null, wait: 0, cooldown: 0, scale: 1 };

/**
 * One validation round of reduceOnPlateau, in Keras's order: a round of cooldown is spent first
 * (and resets the count); an improvement by more than `minDelta` becomes the value to beat;
 * otherwise, out of cooldown, the round counts, and `patience` of them multiply the rate by `factor`.
 */
export function observePlateau(rule: ReduceOnPlateau, state: PlateauState, value: number): PlateauState {
  const { reference, scale } = state;
  let { wait, cooldown } = state;
  if (cooldown > 0) {
    cooldown--;
    wait = 0;
  }
  if (improves(metricGoal(rule.metric), value, reference, rule.minDelta))
    return { reference: value, wait: 0, cooldown, scale };
  if (cooldown > 0) return { reference, wait, cooldown, scale };
  wait++;
  if (wait >= rule.patience) return { reference, wait: 0, cooldown: rule.cooldown, scale: scale * rule.factor };
  return { reference, wait, cooldown, scale };
}
