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
  /** ISO-8601: the point crosses the IPC channel from the training process to the worker. */
  wallTime: string;
}

/** 'best': written only because its validation metric is the best so far (between `everyEpochs` ones). */
export type CheckpointReason = 'interval' | 'final' | 'preempt' | 'best';

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
  /** Awaited: training waits until the checkpoint is stored. Returns the sequence it was stored under. */
  onCheckpoint(checkpoint: TrainingCheckpoint): Promise<number>;
  /** The files of a stored checkpoint of this run (the best weights are read back to be tested). */
  readCheckpoint(sequence: number): Promise<Record<string, Buffer>>;
  /** Polled between batches; true stops training, which then ends 'cancelled'. */
  shouldStop(): boolean;
  /**
   * Polled between batches and after each epoch's validation; true checkpoints the position
   * reached (if any batch ran since the last checkpoint) and ends 'preempted'.
   */
  shouldPreempt?(): boolean;
}

export type TrainingLoopOutcome<R> =
  { status: 'completed'; result: R } | { status: 'cancelled' } | { status: 'preempted' };
