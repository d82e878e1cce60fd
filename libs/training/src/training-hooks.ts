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

export type CheckpointReason = 'interval' | 'final' | 'preempt';

/** A validation metric of the checkpointed weights, so retention can keep the best checkpoint. */
export interface CheckpointMetric {
  name: string;
  value: number;
}

/**
 * A checkpoint's position is where training resumes: `epoch` completed epochs, `step` the last
 * completed global step, `nextBatch` the next batch of epoch `epoch + 1` (0 at an epoch boundary).
 */
export interface TrainingCheckpoint {
  epoch: number;
  step: number;
  nextBatch: number;
  reason: CheckpointReason;
  metric?: CheckpointMetric;
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
  /**
   * Polled between batches and after each epoch's validation; true checkpoints the position
   * reached (if any batch ran since the last checkpoint) and ends 'preempted'.
   */
  shouldPreempt?(): boolean;
}

/** Hooks that do nothing, for evaluation-only uses and tests. */
export const NO_HOOKS: TrainingHooks = {
  onProgress: () => undefined,
  onMetrics: () => undefined,
  onCheckpoint: async () => undefined,
  shouldStop: () => false,
};

export type TrainingLoopOutcome<R> = { status: 'completed'; result: R } | { status: 'cancelled' } | { status: 'preempted' };
