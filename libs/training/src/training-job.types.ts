import type { TrainyardConfig } from '@trainyard/config';
import type { RunProgress, RunResult, RunSpec } from '@trainyard/contracts';
import type { BackendName } from '@trainyard/engine';
import type { TrainingMetricPoint } from './training-hooks';

/** Everything a training thread needs; structured-cloneable (it crosses a worker_threads boundary). */
export interface TrainingJobInput {
  runId: string;
  spec: RunSpec;
  storage: TrainyardConfig['storage'];
  backend?: BackendName;
  /** Fine-tune: a COMPLETE checkpoint of the base pretrain run; its 'encoder' model is the base. */
  baseCheckpointUri?: string;
  /** Sequence of this attempt's first checkpoint; each further one adds 1. */
  firstCheckpointSequence: number;
}

export type TrainingEvent =
  | { type: 'backend'; backend: string; detail: string }
  | { type: 'progress'; progress: RunProgress }
  | { type: 'metrics'; points: TrainingMetricPoint[] }
  | {
      type: 'checkpoint';
      sequence: number;
      epoch: number;
      step: number;
      uri: string;
      bytes: number;
      sha256: string;
      models: string[];
    }
  | { type: 'result'; result: RunResult };

export type TrainingOutcome =
  | { status: 'succeeded' }
  | { status: 'cancelled' }
  | { status: 'failed'; reason: string; retryable: boolean };
