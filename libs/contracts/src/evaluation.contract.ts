import type { EvaluationSplit } from './evaluate-spec.schema';
import type { MetricGoal } from './metric-goal';

export interface ClassScore {
  className: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** Classification metrics on a held-out split, as stored on a fine-tune (or evaluation) run's `result`. */
export interface ClassificationReport {
  split: EvaluationSplit;
  samples: number;
  classNames: string[];
  accuracy: number;
  /**
   * Means over the classes the split holds or the model predicted (sklearn's `average='macro'`
   * with its labels inferred); the others are `unscoredClasses`.
   */
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  /** Classes with no sample in the split that the model never predicted: in `perClass` (all 0, support 0), left out of the macro averages. Absent when there are none. */
  unscoredClasses?: string[];
  /** Means over classes weighted by support (sklearn's 'weighted' average). */
  weightedPrecision: number;
  weightedRecall: number;
  weightedF1: number;
  perClass: ClassScore[];
  /** confusionMatrix[actual][predicted] */
  confusionMatrix: number[][];
}

/** What the metric of a test score is named with, before the report's field: `test/accuracy`, a pretrain's `test/mse`. */
export const TEST_METRIC_PREFIX = 'test/';

/** The scores of a classification report: a run records each as its metric `test/<score>` when it SUCCEEDS. */
export const CLASSIFICATION_SCORES = [
  'accuracy',
  'macroPrecision',
  'macroRecall',
  'macroF1',
  'weightedPrecision',
  'weightedRecall',
  'weightedF1',
] as const satisfies readonly (keyof ClassificationReport)[];

/** An EVALUATE run's result: the classification report plus what was evaluated and top-k accuracy. */
export interface EvaluationReport extends ClassificationReport {
  kind: 'evaluation';
  checkpoint: { runId: string; sequence: number };
  /** Share of samples whose class is among the k most probable (k capped at the number of classes). */
  topK: { k: number; accuracy: number };
}

/** Reconstruction quality of a pretrain run on its held-out test split. */
export interface ReconstructionReport {
  split: 'test';
  samples: number;
  mse: number;
}

/** Where a set of weights stood in training, and the checkpoint that holds them. */
export interface WeightsPosition {
  /** Completed epochs (the last one may be partial under a steps budget). */
  epoch: number;
  /** The last global step trained (0-based). */
  step: number;
  /** The checkpoint holding exactly these weights. */
  sequence: number | null;
  /** Their value of the selection metric, when they were validated. */
  validation: { name: string; value: number } | null;
}

/**
 * How a training run chose the weights its report measures: the best by the selection metric
 * (`training.earlyStopping.metric`, else val_loss for pretrains and val_accuracy for fine-tunes;
 * the earliest on a tie, as checkpoint retention keeps it). The report's own fields are the test
 * of `best`; `last.test` is the test of the last weights (the same when they are the best).
 */
export interface CheckpointSelection<R> {
  metric: string;
  goal: MetricGoal;
  best: WeightsPosition;
  last: WeightsPosition & { test: R };
  /** Where `training.earlyStopping` ended training before its budget; null when it ran the whole budget. */
  stoppedEarly: { epoch: number; step: number } | null;
}

/** What a fine-tune's base was and how it meets the head. */
export interface TransferReport {
  base: 'scratch' | 'run' | 'registered' | 'imported';
  /** 'conv' (after the convolutions), 'latent' (after the dense latent layer), or null for a cut at another layer (imported models, fine-tuned classifiers). */
  cutAt: 'conv' | 'latent' | null;
  /** The base's last layer, e.g. 'enc_pool2'. */
  cutLayer: string;
  /** The shape of the base's features per image, e.g. [7, 7, 32]. */
  features: number[];
  headNorm: 'batchNorm' | 'none';
  /**
   * The checkpoint the base was read from (a pretrain run's or a registered model's): the run that
   * wrote it, its sequence, and whether it is that run's best by its selection metric (what a
   * base is pinned to when the run records one) rather than its latest.
   */
  checkpoint?: { runId: string; sequence: number; best: boolean };
  /** Which parts are the spec's own topologies (`model.layers`), when any is. */
  layers?: { base: boolean; head: boolean };
}

/** A fine-tune's result: the test report of its best weights, how they were chosen, and its transfer. */
export interface FinetuneResult extends ClassificationReport {
  selection?: CheckpointSelection<ClassificationReport>;
  transfer?: TransferReport;
}

/** A pretrain's result: the test MSE of its best weights, and how they were chosen. */
export interface PretrainResult extends ReconstructionReport {
  selection?: CheckpointSelection<ReconstructionReport>;
}

export type RunResult = FinetuneResult | EvaluationReport | PretrainResult;

/** A file an image-folder load left out, and why (corrupt, empty, unreadable). */
export interface SkippedFile {
  file: string;
  reason: string;
}

/**
 * What a run's data load found, stored on the run as soon as the data is loaded (before training),
 * so a person sees skipped files while the run is still going.
 */
export interface DataReport {
  /** 'image-folder' datasets name the folder (`s3://bucket/prefix/` or `file:///path/`). */
  folder?: string;
  classNames: string[];
  /**
   * Files found under the class folders, readable or not: the splits' images and every file
   * skipped (left out by its name, by a pack, or unreadable), so `files` = splits + `skippedCount`.
   */
  files: number;
  /** Images per split after skipping. */
  splits: { train: number; validation: number; test: number };
  skippedCount: number;
  /** The first MAX_LISTED_SKIPPED_FILES skipped files. */
  skipped: SkippedFile[];
  /** Decoded by sharp on this load, against read from the decoded-image cache. */
  decoded: number;
  cacheHits: number;
  /** A streamed run's packed version (the manifest's sha256): a rerun reads exactly these images. */
  packedVersion?: string;
}

/** A folder of thousands of broken files must not make a run row megabytes large. */
export const MAX_LISTED_SKIPPED_FILES = 1000;
