import type { EvaluationReport, FinetuneResult, PretrainResult } from '@trainyard/contracts';
import { testMetricPoints } from './test-metrics';

const at = '2026-12-06T12:00:00.000Z';
const report = {
  split: 'test' as const,
  samples: 40,
  classNames: ['a', 'b'],
  accuracy: 0.9,
  macroPrecision: 0.8,
  macroRecall: 0.85,
  macroF1: 0.82,
  weightedPrecision: 0.81,
  weightedRecall: 0.9,
  weightedF1: 0.84,
  perClass: [],
  confusionMatrix: [],
};
const position = { epoch: 3, step: 29, sequence: 3, validation: null };

describe('testMetricPoints: a finished run’s test scores as metrics', () => {
  it('names each score of a fine-tune test/<field>, at the step of the best weights it measures, leaving out the sample count', () => {
    const result: FinetuneResult = {
      ...report,
      selection: {
        metric: 'val_accuracy',
        goal: 'max',
        stoppedEarly: null,
        best: { ...position, step: 19, epoch: 2 },
        last: { ...position, test: report },
      },
    };
    expect(testMetricPoints(result, at)).toEqual(
      ['accuracy', 'macroPrecision', 'macroRecall', 'macroF1', 'weightedPrecision', 'weightedRecall', 'weightedF1'].map(
        (field) => ({
          name: `test/${field}`,
          step: 19,
          epoch: 2,
          value: report[field as keyof typeof report],
          wallTime: at,
        }),
      ),
    );
  });

  it('takes a pretrain’s test MSE, and an evaluation’s scores at step 0', () => {
    const pretrain: PretrainResult = { split: 'test', samples: 10, mse: 0.012 };
    expect(testMetricPoints(pretrain, at)).toEqual([
      { name: 'test/mse', step: 0, epoch: 0, value: 0.012, wallTime: at },
    ]);
    const evaluation: EvaluationReport = {
      ...report,
      kind: 'evaluation',
      checkpoint: { runId: 'r', sequence: 2 },
      topK: { k: 5, accuracy: 1 },
    };
    expect(testMetricPoints(evaluation, at).map((p) => [p.name, p.step])).toContainEqual(['test/accuracy', 0]);
  });

  it('leaves out what is not a finite number', () => {
    const odd = { split: 'test', samples: 3, mse: Number.NaN } as PretrainResult;
    expect(testMetricPoints(odd, at)).toEqual([]);
  });
});
