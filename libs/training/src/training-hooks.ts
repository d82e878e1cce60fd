import type { RunProgress } from '@trainyard/contracts';

/**
 * Numbering used in everything the loops report: `epoch` is 1-based (the epoch being trained, or
 * just finished); `step` is the 0-based global batch index, `(epoch - 1) * stepsPerEpoch + batch`,
 * monotonic across epochs. Per-epoch metrics and checkpoints carry the step of the epoch's last batch.
 */
export interface TrainingMetricPoint {
  name: string;
  step: number;
  epoch: number;
  value: number;
  /** ISO-8601; serializable across a worker_threads boundary. */
  wallTime: string;
}

export interface TrainingCheckpoint {
  epoch: number;
  step: number;
  /** Relative path → bytes: `<model>/model.json`, `<model>/weights.bin`, `state.json`. */
  files: Record<string, Buffer>;
  models: string[];
  meta: Record<string, unknown>;
}

export interface TrainingHooks {
  onProgress(progress: RunProgress): void;
  onMetrics(points: TrainingMetricPoint[]): void;
  /** Awaited: training waits until the checkpoint is stored. */
  onCheckpoint(checkpoint: TrainingCheckpoint): Promise<void>;
  /** Polled between batches; true stops training, which then ends 'cancelled'. */
  shouldStop(): boolean;
}

/** Hooks that do nothing, for evaluation-only uses and tests. */
export const NO_HOOKS: TrainingHooks = {
  onProgress: () => undefined,
  onMetrics: () => undefined,
  onCheckpoint: async () => undefined,
  shouldStop: () => false,
};

export type TrainingLoopOutcome<R> = { status: 'completed'; result: R } | { status: 'cancelled' };
