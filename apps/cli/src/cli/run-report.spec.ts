import type {
  AttemptView,
  ClassificationReport,
  EvaluationReport,
  FinetuneResult,
  PretrainResult,
} from '@trainyard/contracts';
import { rawControlCharacters } from '../testing/scripted-api';
import { attemptsTable, dataLines, MAX_CONFUSION_CLASSES, queueText, resultLines, testSummary } from './run-report';

/** A 3-class report in the shape the worker stores (libs/training's classification metrics). */
function report(accuracy: number): ClassificationReport {
  return {
    split: 'test',
    samples: 30,
    classNames: ['cat', 'dog', 'bird'],
    accuracy,
    macroPrecision: 0.9012,
    macroRecall: 0.9,
    macroF1: 0.8995,
    weightedPrecision: 0.9012,
    weightedRecall: 0.9,
    weightedF1: 0.8995,
    perClass: [
      { className: 'cat', precision: 0.9, recall: 0.9, f1: 0.9, support: 10 },
      { className: 'dog', precision: 1, recall: 0.8, f1: 0.8889, support: 10 },
      { className: 'bird', precision: 0.8333, recall: 1, f1: 0.9091, support: 10 },
    ],
    confusionMatrix: [
      [9, 0, 1],
      [1, 8, 1],
      [0, 0, 10],
    ],
  };
}

describe('trainyard show: the run report', () => {
  it("prints a fine-tune's test, the weights it tested and why, its transfer, each class and the confusion matrix", () => {
    const result: FinetuneResult = {
      ...report(0.9),
      selection: {
        metric: 'val_accuracy',
        goal: 'max',
        best: { epoch: 8, step: 231, sequence: 7, validation: { name: 'val_accuracy', value: 0.95 } },
        last: {
          epoch: 15,
          step: 434,
          sequence: 9,
          validation: { name: 'val_accuracy', value: 0.94 },
          test: report(0.8667),
        },
        stoppedEarly: { epoch: 15, step: 434 },
      },
      transfer: {
        base: 'run',
        cutAt: 'conv',
        cutLayer: 'enc_pool2',
        features: [7, 7, 32],
        headNorm: 'batchNorm',
        checkpoint: { runId: 'r-1', sequence: 5, best: true },
      },
    };
    expect(resultLines(result).join('\n')).toBe(
      [
        'test      accuracy 90.0%, macro F1 0.899 (precision 0.901, recall 0.900) on 30 images of the test split',
        'weights   checkpoint 7 (epoch 8, step 231), the best by val_accuracy (0.9500)',
        '          the last weights, checkpoint 9 (epoch 15, step 434): accuracy 86.7%, macro F1 0.899',
        '          early stopping ended training at epoch 15',
        'transfer  the encoder of run r-1, checkpoint 5 (its best), cut after enc_pool2 (conv), features 7×7×32, head batch-normalised',
        '',
        'class  precision  recall  f1     support',
        '-----  ---------  ------  -----  -------',
        'cat    0.900      0.900   0.900  10     ',
        'dog    1.000      0.800   0.889  10     ',
        'bird   0.833      1.000   0.909  10     ',
        '',
        'confusion matrix (rows: actual class, columns: predicted)',
        '       cat   dog  bird',
        'cat      9     0     1',
        'dog      1     8     1',
        'bird     0     0    10',
      ].join('\n'),
    );
  });

  it("prints an evaluation's checkpoint and top-k, and a pretrain's reconstruction error", () => {
    const evaluation: EvaluationReport = {
      ...report(0.9),
      unscoredClasses: ['bird'],
      kind: 'evaluation',
      checkpoint: { runId: 'r-2', sequence: 3 },
      topK: { k: 2, accuracy: 0.9667 },
    };
    expect(resultLines(evaluation).slice(0, 4)).toEqual([
      'test      accuracy 90.0%, macro F1 0.899 (precision 0.901, recall 0.900) on 30 images of the test split',
      '          macro scores over 2 of 3 classes, leaving out those with no image in the split that the model never predicted: bird',
      'evaluated checkpoint 3 of run r-2',
      'top-2 accuracy 96.7%',
    ]);

    const pretrain: PretrainResult = {
      split: 'test',
      samples: 1000,
      mse: 0.007344955911441725,
      selection: {
        metric: 'val_mse',
        goal: 'min',
        best: { epoch: 5, step: 1339, sequence: 5, validation: { name: 'val_mse', value: 0.0072640579465835815 } },
        last: {
          epoch: 5,
          step: 1339,
          sequence: 5,
          validation: { name: 'val_mse', value: 0.0072640579465835815 },
          test: { split: 'test', samples: 1000, mse: 0.007344955911441725 },
        },
        stoppedEarly: null,
      },
    };
    expect(resultLines(pretrain)).toEqual([
      'test      reconstruction MSE 0.007345 on 1000 images of the test split',
      'weights   checkpoint 5 (epoch 5, step 1339), the best by val_mse (0.007264)',
      '          the last weights are the same',
    ]);
  });

  it('leaves a large confusion matrix to --json, and prints a result it does not know as JSON', () => {
    const many = MAX_CONFUSION_CLASSES + 1;
    const names = Array.from({ length: many }, (_, i) => `c${i}`);
    const wide: ClassificationReport = {
      ...report(0.5),
      classNames: names,
      perClass: names.map((className) => ({ className, precision: 0.5, recall: 0.5, f1: 0.5, support: 1 })),
      confusionMatrix: names.map((_, i) => names.map((__, j) => (i === j ? 1 : 0))),
    };
    const lines = resultLines(wide);
    expect(lines.at(-1)).toBe(`confusion matrix: ${many}×${many}, in --json`);
    expect(
      lines
        .join('\n')
        .split('\n')
        .filter((l) => /^c\d+ /.test(l)),
    ).toHaveLength(many);

    // An older worker's result, or a field renamed since: shown, not dropped.
    expect(resultLines({ accuracy: 0.9, note: 'old shape' })).toEqual([
      'result    {"accuracy":0.9,"note":"old shape"}',
    ]);
    expect(resultLines(null)).toEqual([]);
    expect(resultLines([1, 2])).toEqual([]);
  });

  it("prints the data load's splits and names the skipped files, up to five", () => {
    const skipped = Array.from({ length: 7 }, (_, i) => ({ file: `cat/${i}.png`, reason: 'corrupt: not an image' }));
    const lines = dataLines({
      folder: 's3://bucket/pets/',
      classNames: ['cat', 'dog'],
      files: 1207,
      splits: { train: 960, validation: 120, test: 120 },
      skippedCount: 7,
      skipped,
      decoded: 1200,
      cacheHits: 0,
    });
    expect(lines).toEqual([
      'data      s3://bucket/pets/: 960 train, 120 validation, 120 test images, 2 classes',
      'skipped   7 files:',
      ...skipped.slice(0, 5).map((s) => `          ${s.file}: ${s.reason}`),
      '          … 2 more (--json)',
    ]);
    expect(dataLines(null)).toEqual([]);
    expect(dataLines({ files: 3 })).toEqual([]);
  });

  it('prints each attempt: worker, backend, outcome, how long, and its error', () => {
    const attempt = (
      number: number,
      outcome: AttemptView['outcome'],
      seconds: number | null,
      error: string | null,
    ) => ({
      id: `a-${number}`,
      runId: 'r',
      number,
      workerId: `w-${number}`,
      backend: 'wasm',
      startedAt: '2026-12-05T20:00:00.000Z',
      endedAt:
        seconds === null ? null : new Date(Date.parse('2026-12-05T20:00:00.000Z') + seconds * 1000).toISOString(),
      outcome,
      error,
    });
    expect(
      attemptsTable([
        attempt(1, 'CRASHED', 75, 'training process killed by SIGKILL'),
        attempt(2, 'RUNNING', null, null),
      ]).split('\n'),
    ).toEqual([
      'attempt  worker  backend  outcome  took   error                             ',
      '-------  ------  -------  -------  -----  ----------------------------------',
      '1        w-1     wasm     CRASHED  1m15s  training process killed by SIGKILL',
      '2        w-2     wasm     RUNNING  -                                        ',
    ]);
  });

  it('says where a waiting run stands and who could take it, in the words the dashboard uses', () => {
    const queue = {
      runId: 'r',
      status: 'QUEUED' as const,
      resourceClass: 'gpu' as const,
      queue: 'q-gpu',
      jobState: 'prioritized',
      ahead: 3,
      servingWorkers: 2,
      drainingWorkers: 0,
      parked: false,
      projectLimit: null,
    };
    expect(queueText(queue)).toBe('3 jobs ahead in class gpu; 2 live workers serve it');
    // Every worker of its class drained: live, yet the run will not move until one is taken back.
    expect(queueText({ ...queue, ahead: 0, drainingWorkers: 2 })).toBe(
      'next in line in class gpu; 2 live workers serve it, both drained or draining: it waits until a drain is taken back or another worker starts',
    );
    expect(
      queueText({ ...queue, projectLimit: { project: 'vision', running: 3, limit: 2, source: 'default' as const } }),
    ).toMatch(
      /^its project vision already trains 3 of the 2 runs .*; 3 jobs ahead in class gpu; 2 live workers serve it$/,
    );
  });

  it("sums a run's test result up for a list", () => {
    expect(testSummary(report(0.925))).toBe('acc 92.5%');
    expect(testSummary({ split: 'test', samples: 10, mse: 0.007344955911441725 })).toBe('mse 0.007345');
    expect(testSummary(null)).toBe('-');
    expect(testSummary({ something: 'else' })).toBe('-');
  });

  describe('text the worker stored', () => {
    // An OSC 52 clipboard write, a hidden OSC 8 link, a CR over the line, a one-character CSI, a bidi override.
    const hostile = ['cat\u001b]52;c;cm0gLXJmIH4K\u0007', '\u001b]8;;https://evil\u0007dog', 'bird\rcat\u009b2J\u202e'];
    const shown = [
      'cat\\u001b]52;c;cm0gLXJmIH4K\\u0007',
      '\\u001b]8;;https://evil\\u0007dog',
      'bird\\u000dcat\\u009b2J\\u202e',
    ];

    it('shows class names escaped in the per-class table and the confusion matrix, columns aligned', () => {
      const r = report(0.9);
      const result = {
        ...r,
        classNames: hostile,
        perClass: r.perClass.map((c, i) => ({ ...c, className: hostile[i] })),
        selection: {
          metric: 'val\u202eaccuracy',
          best: { epoch: 1, step: 2, sequence: 1 },
          last: { epoch: 1, step: 2, sequence: 1 },
        },
      };
      const lines = resultLines(result);
      expect(lines.flatMap((l) => rawControlCharacters(l))).toEqual([]);
      expect(lines.every((l) => !l.includes('\n'))).toBe(true);
      expect(lines).toContain('weights   checkpoint 1 (epoch 1, step 2), the best by val\\u202eaccuracy');
      const width = Math.max(...shown.map((n) => n.length));
      const perClass = lines.slice(lines.indexOf('') + 1, lines.indexOf('') + 6);
      expect(perClass[0]).toBe(`${'class'.padEnd(width)}  precision  recall  f1     support`);
      expect(perClass.slice(2).map((l) => l.slice(0, width + 2))).toEqual(shown.map((n) => `${n.padEnd(width)}  `));
      const matrix = lines.slice(lines.indexOf('confusion matrix (rows: actual class, columns: predicted)') + 1);
      expect(matrix[0]).toBe(`${' '.repeat(width)}  ${shown.map((n) => n.padStart(width)).join('  ')}`);
      expect(matrix.slice(1).map((l) => l.slice(0, width))).toEqual(shown.map((n) => n.padEnd(width)));
    });

    it('shows skipped files, their reasons and attempt errors escaped, one line each', () => {
      const lines = dataLines({
        folder: 's3://bucket/\u202epets/',
        splits: { train: 1, validation: 1, test: 1 },
        skippedCount: 1,
        skipped: [{ file: `${hostile[0]}.png`, reason: 'corrupt\nskipped   0 files' }],
      });
      expect(lines).toEqual([
        'data      s3://bucket/\\u202epets/: 1 train, 1 validation, 1 test images',
        'skipped   1 file:',
        `          ${shown[0]}.png: corrupt\\u000askipped   0 files`,
      ]);
      const table = attemptsTable([
        {
          id: 'a-1',
          runId: 'r',
          number: 1,
          workerId: 'w\u200b-1',
          backend: 'wasm',
          startedAt: '2026-12-05T20:00:00.000Z',
          endedAt: null,
          outcome: 'CRASHED',
          error: `killed\r${hostile[1]}`,
        },
      ]);
      expect(rawControlCharacters(table)).toEqual([]);
      expect(table.split('\n')[2]).toBe(`1        w\\u200b-1  wasm     CRASHED  -     killed\\u000d${shown[1]}`);
    });
  });
});
