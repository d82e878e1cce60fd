import { lineChartSummary, notFiniteNote, scatterSummary } from './chart-summary';
import { parameterAxis } from './format';

describe('charts in words', () => {
  it("says a line chart's lines: points, steps, last value and range", () => {
    expect(
      lineChartSummary('Loss', [
        {
          label: 'loss',
          points: [
            { step: 1, value: 1.386 },
            { step: 2, value: 0.9 },
            { step: 3, value: null },
            { step: 350, value: 0.2134 },
          ],
        },
        { label: 'val_loss', points: [{ step: 25, value: 0.25 }] },
        { label: 'empty', points: [] },
      ]),
    ).toBe(
      'Loss by step. loss: 4 points, steps 1 to 350, last 0.2134, lowest 0.2134, highest 1.386; 1 not finite (NaN or ±∞) from step 3. ' +
        'val_loss: 1 point, step 25, last 0.25, lowest 0.25, highest 0.25.',
    );
    expect(lineChartSummary('Accuracy', [])).toBe('Accuracy by step: no points yet.');
  });

  it('says where a diverged line stops being finite, never "—" or "NaN" for its last value', () => {
    // On the wire NaN and ±Infinity are null: a loss that rose to Infinity at step 3, then NaN.
    const diverged = [
      { step: 1, value: 0.5 },
      { step: 2, value: 40 },
      { step: 3, value: null },
      { step: 4, value: null },
    ];
    const summary = lineChartSummary('Loss', [
      { label: 'loss', points: diverged },
      { label: 'val_loss', points: [{ step: 2, value: null }] },
    ]);
    expect(summary).toBe(
      'Loss by step. loss: 4 points, steps 1 to 4, last not finite, lowest 0.5, highest 40; 2 not finite (NaN or ±∞) from step 3. ' +
        'val_loss: 1 point, step 2, last not finite; 1 not finite (NaN or ±∞) from step 2.',
    );
    expect(summary).not.toMatch(/NaN[^ ]|—|undefined|Infinity/);
    expect(notFiniteNote([{ label: 'loss', points: diverged }])).toBe(
      'loss: 2 of 4 points not finite (NaN or ±∞) from step 3, not drawn.',
    );
    expect(notFiniteNote([{ label: 'loss', points: diverged.slice(0, 2) }])).toBeNull();
  });

  it("says a sweep scatter's axes, their values in one notation", () => {
    expect(scatterSummary('training.learningRate', 'test/accuracy', parameterAxis([0.0001, 0.03]), [0.5, 0.875])).toBe(
      'training.learningRate (log axis) against test/accuracy: 2 runs, training.learningRate from 1e-4 to 3e-2, test/accuracy from 0.5 to 0.875.',
    );
    expect(scatterSummary('model.freeze', 'val_loss', parameterAxis(['head', 'none']), [0.3])).toBe(
      'model.freeze against val_loss: 1 run, model.freeze one of head, none, val_loss from 0.3 to 0.3.',
    );
  });
});
