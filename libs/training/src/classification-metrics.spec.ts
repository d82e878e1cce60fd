import {
  accuracy,
  classificationReport,
  confusionMatrix,
  macroAverages,
  perClassScores,
  topKAccuracy,
  weightedAverages,
} from './classification-metrics';

describe('classification metrics', () => {
  // actual:    0 0 0 1 1 2
  // predicted: 0 0 1 1 2 2
  const actual = [0, 0, 0, 1, 1, 2];
  const predicted = [0, 0, 1, 1, 2, 2];

  it('counts the confusion matrix as [actual][predicted]', () => {
    expect(confusionMatrix(actual, predicted, 3)).toEqual([
      [2, 1, 0],
      [0, 1, 1],
      [0, 0, 1],
    ]);
  });

  it('computes accuracy, per-class and macro scores by hand', () => {
    const m = confusionMatrix(actual, predicted, 3);
    expect(accuracy(m)).toBeCloseTo(4 / 6);
    const s = perClassScores(m);
    // class 0: P = 2/2, R = 2/3, F1 = 0.8; class 1: P = 1/2, R = 1/2, F1 = 0.5; class 2: P = 1/2, R = 1, F1 = 2/3
    expect(s[0]).toEqual({ precision: 1, recall: 2 / 3, f1: expect.closeTo(0.8), support: 3, predicted: 2 });
    expect(s[1]).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5, support: 2, predicted: 2 });
    expect(s[2].precision).toBeCloseTo(0.5);
    expect(s[2].recall).toBe(1);
    expect(s[2].f1).toBeCloseTo(2 / 3);
    const macro = macroAverages(s);
    expect(macro.precision).toBeCloseTo((1 + 0.5 + 0.5) / 3);
    expect(macro.recall).toBeCloseTo((2 / 3 + 0.5 + 1) / 3);
    expect(macro.f1).toBeCloseTo((0.8 + 0.5 + 2 / 3) / 3);
  });

  it('scores undefined ratios as 0: a class never predicted and a class never present', () => {
    const s = perClassScores(confusionMatrix([0, 0, 1], [0, 0, 0], 3));
    expect(s[1]).toEqual({ precision: 0, recall: 0, f1: 0, support: 1, predicted: 0 });
    expect(s[2]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0, predicted: 0 });
    expect(accuracy(confusionMatrix([], [], 2))).toBe(0);
  });

  it('averages macro scores over the classes present or predicted, as sklearn infers its labels, naming the rest', () => {
    // Class 2 has no test sample and is never predicted: sklearn's f1_score(average='macro') over
    // y_true ∪ y_pred is the mean of classes 0 and 1 (F1 0.8 and 2/3), not that over 3 classes.
    const r = classificationReport([0, 0, 1, 1], [0, 0, 1, 0], ['a', 'b', 'c']);
    expect(r.macroF1).toBeCloseTo((0.8 + 2 / 3) / 2);
    expect(r.macroPrecision).toBeCloseTo((2 / 3 + 1) / 2);
    expect(r.macroRecall).toBeCloseTo((1 + 0.5) / 2);
    expect(r.unscoredClasses).toEqual(['c']);
    expect(r.perClass[2]).toEqual({ className: 'c', precision: 0, recall: 0, f1: 0, support: 0 });
    // A class predicted but absent is scored (precision 0 counts against the model), and one present but never predicted.
    const wrong = classificationReport([0, 0], [0, 2], ['a', 'b', 'c']);
    expect(wrong.unscoredClasses).toEqual(['b']);
    expect(wrong.macroPrecision).toBeCloseTo((1 + 0) / 2);
    expect(wrong.macroRecall).toBeCloseTo((0.5 + 0) / 2);
    expect('unscoredClasses' in classificationReport(actual, predicted, ['a', 'b', 'c'])).toBe(false);
    expect(macroAverages(perClassScores(confusionMatrix([], [], 2)))).toEqual({ precision: 0, recall: 0, f1: 0 });
  });

  it('builds a ClassificationReport with class names', () => {
    const r = classificationReport(actual, predicted, ['a', 'b', 'c']);
    expect(r).toMatchObject({ split: 'test', samples: 6, classNames: ['a', 'b', 'c'] });
    expect(r.accuracy).toBeCloseTo(4 / 6);
    expect(r.perClass.map((c) => [c.className, c.support])).toEqual([
      ['a', 3],
      ['b', 2],
      ['c', 1],
    ]);
  });

  it('rejects mismatched lengths and out-of-range labels', () => {
    expect(() => confusionMatrix([0], [0, 1], 2)).toThrow(/1 labels but 2 predictions/);
    expect(() => confusionMatrix([0, 3], [0, 1], 2)).toThrow(/sample 1/);
  });
  it('weights per-class scores by support (sklearn average=weighted)', () => {
    const w = weightedAverages(perClassScores(confusionMatrix(actual, predicted, 3)));
    expect(w.precision).toBeCloseTo((3 * 1 + 2 * 0.5 + 1 * 0.5) / 6);
    expect(w.recall).toBeCloseTo((3 * (2 / 3) + 2 * 0.5 + 1 * 1) / 6);
    expect(w.f1).toBeCloseTo((3 * 0.8 + 2 * 0.5 + 1 * (2 / 3)) / 6);
    expect(classificationReport(actual, predicted, ['a', 'b', 'c'], 'validation')).toMatchObject({
      split: 'validation',
      weightedRecall: w.recall,
    });
  });

  it('counts a top-k hit when fewer than k classes score higher than the true one', () => {
    // sample 0: true 2 is 2nd best; sample 1: true 0 is 3rd; sample 2: true 1 is best.
    const scores = [0.5, 0.1, 0.4, 0.2, 0.5, 0.3, 0.1, 0.8, 0.1];
    expect(topKAccuracy(scores, [2, 0, 1], 3, 1)).toBeCloseTo(1 / 3);
    expect(topKAccuracy(scores, [2, 0, 1], 3, 2)).toBeCloseTo(2 / 3);
    expect(topKAccuracy(scores, [2, 0, 1], 3, 3)).toBe(1);
  });
});
