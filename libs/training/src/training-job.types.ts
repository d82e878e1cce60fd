import type { TrainyardConfig } from '@trainyard/config';
import type { DataReport, RunProgress, RunResult, RunSpec } from '@trainyard/contracts';
import type { BackendName } from '@trainyard/engine';
import type { CheckpointMetric, CheckpointReason, TrainingMetricPoint } from './training-hooks';

/** A COMPLETE checkpoint of this run that an attempt may resume from. */
export interface ResumeCandidate {
  sequence: number;
  uri: string;
}

/** Everything a training process needs; structured-cloneable (it crosses the IPC channel with `serialization: 'advanced'`). */
export interface TrainingJobInput {
  runId: string;
  spec: RunSpec;
  storage: TrainyardConfig['storage'];
  backend?: BackendName;
  /**
   * Fine-tune: a COMPLETE checkpoint of the base (a pretrain run's, or a registered model
   * version's); its `baseCheckpointModel` is the base. Evaluate: the checkpoint evaluated.
   */
  baseCheckpointUri?: string;
  /** Which model of `baseCheckpointUri` is the base: 'encoder' (default) or a fine-tune's 'classifier' (its head is cut off). */
  baseCheckpointModel?: 'encoder' | 'classifier';
  /** Evaluate: the sequence of the checkpoint evaluated (reported in the result); fine-tune: of its base's. */
  baseCheckpointSequence?: number;
  /** The run that wrote `baseCheckpointUri`, and whether it is that run's best checkpoint (a fine-tune reports both). */
  baseCheckpointOf?: { runId: string; best: boolean };
  /**
   * Evaluate: what the row of the run that wrote `baseCheckpointUri` recorded of its data, for what
   * the checkpoint cannot tell alone: its classes (its result's; checkpoints written before they
   * held theirs) and the image files its data report found and skipped. Null where it says nothing.
   */
  baseCheckpointTrainedOn?: {
    classNames: string[] | null;
    files: { found: number; skipped: number } | null;
  };
  /** Where the spec's image-folder dataset lives (resolved from its datasetId by the worker). */
  imageFolder?: ImageFolderLocation;
  /** Decoded-image cache on local disk (`$TRAINYARD_HOME/cache/images`). */
  cacheDir?: string;
  /** Size cap of that cache (WORKER_IMAGE_CACHE_BYTES); the library's default when absent. */
  imageCacheBytes?: number;
  /** The worker's `config.paths`: local reads only under its roots (none when absent), folder walks bounded. */
  paths?: TrainyardConfig['paths'];
  /** Size cap of the node's shard cache for streamed datasets (WORKER_SHARD_CACHE_BYTES); the library's default when absent. */
  shardCacheBytes?: number;
  /**
   * The most parameters a fine-tune's own head (`model.layers.head`, or the built-in one) may hold
   * where only the training process can size it, on a base it reads (the worker's
   * QUOTA_MODEL_PARAMETERS, which the API holds the rest of a spec to at submit);
   * MAX_MODEL_PARAMETERS when absent.
   */
  modelParameterQuota?: number;
  /** Sequence of this attempt's first checkpoint; each further one adds 1. */
  firstCheckpointSequence: number;
  /**
   * The run's own COMPLETE checkpoints, newest first. The first one that reads back intact
   * (sha256 verified) and holds a usable training state is resumed from; each one skipped is
   * reported as 'checkpoint-corrupt'. None usable (or none given): training starts from scratch.
   * A fine-tune resumed this way restores its 'classifier' and never reads the base checkpoint.
   */
  resumeCandidates?: ResumeCandidate[];
}

/** A registered folder: a path the worker can read, or a prefix in the configured object store. */
export type ImageFolderLocation = { kind: 'local'; path: string } | { kind: 's3'; prefix: string };

/**
 * Positions: in 'checkpoint' and 'resumed', `epoch` counts COMPLETED epochs and `step` is the last
 * completed global step (0-based; -1 before any). In metric points and progress, `epoch` is the
 * 1-based epoch being trained (see training-hooks.ts). A checkpoint at an epoch boundary therefore
 * carries the same epoch number as that epoch's metric points.
 */
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
      /** 'interval': every N epochs; 'final': after the last epoch; 'preempt': written on preempt(). */
      reason: CheckpointReason;
      /** The validation metric of exactly these weights (val_loss for pretrain, val_accuracy for fine-tune), when known. */
      metric?: CheckpointMetric;
    }
  /** A resume candidate was skipped: unreadable, failed its sha256 check, or holds no usable state. */
  | { type: 'checkpoint-corrupt'; sequence: number; reason: string }
  /** Training continues from checkpoint `sequence`; points with a greater step from earlier attempts are stale. */
  | { type: 'resumed'; sequence: number; epoch: number; step: number }
  | { type: 'result'; result: RunResult }
  /** What the data load found (skipped files…); written to the run before training starts. */
  | { type: 'data-report'; report: DataReport };

export type TrainingOutcome =
  | { status: 'succeeded' }
  | { status: 'cancelled' }
  /** Stopped by preempt(): the position is in the last 'checkpoint' event (or the checkpoint resumed from). */
  | { status: 'preempted' }
  /**
   * `crash`: the training process ended without reporting an outcome (always retryable).
   * `storeUnavailable`: the object store could not be reached (network errors, 5xx, throttling,
   * past the store client's own retries): a retry waits for it rather than counting as a failure.
   */
  | { status: 'failed'; reason: string; retryable: boolean; crash?: ChildCrash; storeUnavailable?: boolean };

/** How a training process ended when it reported no outcome: a native crash, an OOM kill, a `kill -9`, silence. */
export interface ChildCrash {
  pid: number | null;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the supervisor killed it (SIGKILL) for sending nothing this long. */
  silentMs?: number;
  /** Set when the supervisor killed it (SIGKILL) for a message that failed ChildMessageSchema: what was wrong with it. */
  invalidMessage?: string;
  /** The last lines it printed on stderr, oldest first. */
  stderrTail: string[];
}
