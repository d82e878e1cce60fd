import type { SpecKind } from './run-state';

/** The one queue that carries training work; payloads carry only the run id (PostgreSQL is the truth). */
export const TRAINING_QUEUE = 'trainyard-training';

/** A job is named after its run's spec kind (`specKindOf(run.kind)`). */
export const JOB_NAMES = { pretrain: 'pretrain', finetune: 'finetune', evaluate: 'evaluate' } as const satisfies {
  [K in SpecKind]: K;
};
export type TrainingJobName = (typeof JOB_NAMES)[keyof typeof JOB_NAMES];

export interface TrainingJobData {
  runId: string;
}

/** What a worker reports through `job.updateProgress` and stores on the run for list views. */
export interface RunProgress {
  phase: 'loading' | 'training' | 'evaluating' | 'checkpointing' | 'done';
  /** Current epoch, 1-based (0 while loading, before the first epoch starts). */
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  /**
   * Optimizer steps the whole budget spans: `training.steps`, or epochs × batches per epoch (so a
   * steps budget's partial last epoch counts only its own batches). `step / totalSteps` is the
   * share done. Absent while an epochs budget's data loads (its batches are not known yet) and
   * for evaluations.
   */
  totalSteps?: number;
  /** Latest training loss (batch mean). */
  loss?: number;
  imagesPerSec?: number;
  etaSeconds?: number;
  updatedAt: string;
}
