import type { EvaluationSplit } from './evaluate-spec.schema';

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
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  /** Means over classes weighted by support (sklearn's 'weighted' average). */
  weightedPrecision: number;
  weightedRecall: number;
  weightedF1: number;
  perClass: ClassScore[];
  /** confusionMatrix[actual][predicted] */
  confusionMatrix: number[][];
}

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

export type RunResult = ClassificationReport | EvaluationReport | ReconstructionReport;

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
  /** Image files found (readable or not). */
  files: number;
  /** Images per split after skipping. */
  splits: { train: number; validation: number; test: number };
  skippedCount: number;
  /** The first MAX_LISTED_SKIPPED_FILES skipped files. */
  skipped: SkippedFile[];
  /** Decoded by sharp on this load, against read from the decoded-image cache. */
  decoded: number;
  cacheHits: number;
}

/** A folder of thousands of broken files must not make a run row megabytes large. */
export const MAX_LISTED_SKIPPED_FILES = 1000;
