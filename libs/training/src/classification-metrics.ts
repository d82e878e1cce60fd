import type { ClassificationReport, EvaluationSplit } from '@trainyard/contracts';

/** confusion[actual][predicted] counts. Labels outside 0..numClasses-1 are an error, not skipped. */
export function confusionMatrix(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  numClasses: number,
): number[][] {
  if (actual.length !== predicted.length) {
    throw new Error(`confusionMatrix: ${actual.length} labels but ${predicted.length} predictions`);
  }
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const p = predicted[i];
    if (!(a >= 0 && a < numClasses && p >= 0 && p < numClasses)) {
      throw new Error(`confusionMatrix: sample ${i} has class ${a} → ${p}, outside 0..${numClasses - 1}`);
    }
    m[a][p]++;
  }
  return m;
}

export function accuracy(confusion: number[][]): number {
  const total = confusion.reduce((n, row) => n + row.reduce((a, b) => a + b, 0), 0);
  const correct = confusion.reduce((n, row, i) => n + row[i], 0);
  return total === 0 ? 0 : correct / total;
}

/** 0 when the denominator is 0 (no predictions of / no samples of a class): sklearn's zero_division=0. */
function ratio(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/**
 * Per class: precision = TP / predicted, recall = TP / actual (support), F1 their harmonic mean.
 * Any undefined ratio is 0 (a class never predicted has precision 0; F1 is 0 when both are 0).
 * `predicted` is how many samples the model gave the class.
 */
export function perClassScores(confusion: number[][]): (ClassScores & { predicted: number })[] {
  return confusion.map((row, c) => {
    const tp = row[c];
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((n, r) => n + r[c], 0);
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    return { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support, predicted };
  });
}

/**
 * Whether a class takes part in the macro averages: the split holds it or the model predicted
 * it, as sklearn's `average='macro'` with its labels inferred (the classes of y_true and y_pred)
 * and torchmetrics' macro averages count classes. A class with neither has no score to average,
 * not a score of 0: counting it would lower every macro score by its share.
 */
const scored = (s: ClassScores & { predicted: number }) => s.support > 0 || s.predicted > 0;

/** The unweighted mean of precision, recall and F1 over the classes scored (`scored`); 0 when none is. */
export function macroAverages(scores: (ClassScores & { predicted: number })[]): {
  precision: number;
  recall: number;
  f1: number;
} {
  const counted = scores.filter(scored);
  const mean = (pick: (s: ClassScores) => number) =>
    ratio(
      counted.reduce((n, s) => n + pick(s), 0),
      counted.length,
    );
  return { precision: mean((s) => s.precision), recall: mean((s) => s.recall), f1: mean((s) => s.f1) };
}

/** Means over classes weighted by their support (sklearn's average='weighted'); 0 with no samples. */
export function weightedAverages(scores: ClassScores[]): { precision: number; recall: number; f1: number } {
  const total = scores.reduce((n, s) => n + s.support, 0);
  const mean = (pick: (s: ClassScores) => number) =>
    ratio(
      scores.reduce((n, s) => n + pick(s) * s.support, 0),
      total,
    );
  return { precision: mean((s) => s.precision), recall: mean((s) => s.recall), f1: mean((s) => s.f1) };
}

/** Everything a fine-tune (or evaluation) run reports on a split. */
export function classificationReport(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classNames: string[],
  split: EvaluationSplit = 'test',
): ClassificationReport {
  const confusion = confusionMatrix(actual, predicted, classNames.length);
  const scores = perClassScores(confusion);
  const macro = macroAverages(scores);
  const weighted = weightedAverages(scores);
  const unscored = classNames.filter((_, c) => !scored(scores[c]));
  return {
    split,
    samples: actual.length,
    classNames: [...classNames],
    accuracy: accuracy(confusion),
    macroPrecision: macro.precision,
    macroRecall: macro.recall,
    macroF1: macro.f1,
    weightedPrecision: weighted.precision,
    weightedRecall: weighted.recall,
    weightedF1: weighted.f1,
    ...(unscored.length > 0 ? { unscoredClasses: unscored } : {}),
    perClass: scores.map(({ precision, recall, f1, support }, c) => ({
      className: classNames[c],
      precision,
      recall,
      f1,
      support,
    })),
    confusionMatrix: confusion,
  };
}

/**
 * Share of samples whose true class is among the k highest scores. `scores` is row-major
 * `[samples, numClasses]`; ties count in the true class's favour only when strictly fewer than k
 * classes score higher (as tf.math.in_top_k).
 */
export function topKAccuracy(
  scores: ArrayLike<number>,
  actual: ArrayLike<number>,
  numClasses: number,
  k: number,
): number {
  if (scores.length !== actual.length * numClasses) {
    throw new Error(`topKAccuracy: ${scores.length} scores for ${actual.length} samples of ${numClasses} classes`);
  }
  let hits = 0;
  for (let i = 0; i < actual.length; i++) {
    const own = scores[i * numClasses + actual[i]];
    let higher = 0;
    for (let c = 0; c < numClasses; c++) if (scores[i * numClasses + c] > own) higher++;
    if (higher < k) hits++;
  }
  return actual.length === 0 ? 0 : hits / actual.length;
}
