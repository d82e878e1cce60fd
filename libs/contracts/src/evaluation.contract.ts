/** Classification metrics on a held-out split, as stored on a fine-tune run's `result`. */
export interface ClassificationReport {
  split: 'test';
  samples: number;
  classNames: string[];
  accuracy: number;
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  perClass: { className: string; precision: number; recall: number; f1: number; support: number }[];
  /** confusionMatrix[actual][predicted] */
  confusionMatrix: number[][];
}

/** Reconstruction quality of a pretrain run on its held-out test split. */
export interface ReconstructionReport {
  split: 'test';
  samples: number;
  mse: number;
}

export type RunResult = ClassificationReport | ReconstructionReport;
