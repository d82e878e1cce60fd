import type { RunProgress } from '@trainyard/contracts';
import type { TrainingCheckpoint, TrainingHooks, TrainingMetricPoint } from './training-hooks';

export interface RecordingHooks extends TrainingHooks {
  progress: RunProgress[];
  metrics: TrainingMetricPoint[];
  /** Stored by sequence (1, 2, …, or from `firstSequence`), readable back through readCheckpoint. */
  checkpoints: (TrainingCheckpoint & { sequence: number })[];
  /** The points named `name`, as [epoch, step, value]. */
  series(name: string): [number, number, number][];
}

/**
 * Hooks for tests that keep everything in memory: progress, metric points and checkpoints (the
 * store a run's best weights are read back from). `shouldStop` turns true after `stopAfterPolls`
 * polls; `shouldPreempt` once `preemptAfterBatches` batch_loss points were reported (with
 * `sampleEverySteps: 1`, batches trained).
 */
export function recordingHooks(
  opts: {
    stopAfterPolls?: number;
    preemptAfterBatches?: number;
    firstSequence?: number;
    earlier?: RecordingHooks;
  } = {},
): RecordingHooks {
  const progress: RunProgress[] = [];
  const metrics: TrainingMetricPoint[] = [];
  const checkpoints: (TrainingCheckpoint & { sequence: number })[] = [];
  let polls = 0;
  let next =
    opts.firstSequence ?? (opts.earlier ? Math.max(0, ...opts.earlier.checkpoints.map((c) => c.sequence)) + 1 : 1);
  const batches = () => metrics.filter((p) => p.name === 'batch_loss').length;
  return {
    progress,
    metrics,
    checkpoints,
    series: (name) => metrics.filter((p) => p.name === name).map((p) => [p.epoch, p.step, p.value]),
    onProgress: (p) => progress.push(p),
    onMetrics: (points) => metrics.push(...points),
    onCheckpoint: async (c) => {
      const sequence = next++;
      checkpoints.push({ ...c, sequence });
      return sequence;
    },
    readCheckpoint: async (sequence) => {
      const found = [...(opts.earlier?.checkpoints ?? []), ...checkpoints].find((c) => c.sequence === sequence);
      if (!found) throw new Error(`no checkpoint ${sequence}`);
      return found.files;
    },
    shouldStop: () => ++polls > (opts.stopAfterPolls ?? Infinity),
    shouldPreempt: () => batches() >= (opts.preemptAfterBatches ?? Infinity),
  };
}
