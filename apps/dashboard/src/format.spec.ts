import {
  COMPARE_MAX_RUNS as CONTRACTS_COMPARE_MAX_RUNS,
  RUN_LIST_METRIC_SORT,
  TERMINAL_RUN_STATUSES,
  WAITING_RUN_STATUSES,
} from '@trainyard/contracts';
import {
  COMPARE_MAX_RUNS,
  axisLabels,
  axisPosition,
  countsText,
  formatDuration,
  formatNumber,
  mergeByStep,
  metricSort,
  moveSelection,
  parameterAxis,
  progressFraction,
  queueCountsShown,
  queueFacts,
  runEnded,
  runWaiting,
  runDuration,
  summaryText,
  formatMeasured,
  testAccuracy,
} from './format';

describe('dashboard formatting', () => {
  it('formats durations, numbers and non-finite values', () => {
    expect([
      formatDuration(4_200),
      formatDuration(125_000),
      formatDuration(3 * 3600_000 + 60_000),
      formatDuration(null),
    ]).toEqual(['4s', '2m 05s', '3h 01m', '—']);
    expect([
      formatNumber(0.912345),
      formatNumber(NaN),
      formatNumber(Infinity),
      formatNumber(0.00001234),
      formatNumber(null),
    ]).toEqual(['0.9123', 'NaN', '∞', '1.23e-5', '—']);
    expect(runDuration({ startedAt: '2026-01-01T00:00:00Z', endedAt: null }, Date.parse('2026-01-01T00:01:00Z'))).toBe(
      60_000,
    );
  });

  it('moves a table selection with arrows and j/k, clamped to the rows', () => {
    expect(moveSelection('j', -1, 3)).toBe(0);
    expect(moveSelection('ArrowDown', 2, 3)).toBe(2);
    expect(moveSelection('k', 0, 3)).toBe(0);
    expect(moveSelection('ArrowUp', 2, 3)).toBe(1);
    expect(moveSelection('End', 0, 3)).toBe(2);
    expect(moveSelection('x', 0, 3)).toBeNull();
    expect(moveSelection('j', 0, 0)).toBeNull();
  });

  it('computes progress from epoch and step', () => {
    expect(progressFraction({ phase: 'training', epoch: 2, epochs: 4, step: 15, stepsPerEpoch: 10 })).toBeCloseTo(
      0.375,
    );
    expect(progressFraction({ phase: 'done', epoch: 4, epochs: 4, step: 40, stepsPerEpoch: 10 })).toBe(1);
    expect(progressFraction(null)).toBe(0);
    // A steps budget: 150 steps over 2 epochs of 100 batches ends half-way through the second.
    expect(
      progressFraction({ phase: 'training', epoch: 2, epochs: 2, step: 120, stepsPerEpoch: 100, totalSteps: 150 }),
    ).toBeCloseTo(0.8);
  });

  it('merges live points into a series by step', () => {
    expect(
      mergeByStep(
        [
          { step: 1, value: 1 },
          { step: 3, value: 3 },
        ],
        [
          { step: 2, value: 2 },
          { step: 3, value: 9 },
        ],
      ),
    ).toEqual([
      { step: 1, value: 1 },
      { step: 2, value: 2 },
      { step: 3, value: 9 },
    ]);
  });

  it("reads an evaluation's test accuracy, and nothing for other kinds or a result without one", () => {
    expect(testAccuracy({ kind: 'EVALUATE', result: { kind: 'evaluation', accuracy: 0.93 } })).toBe(0.93);
    expect(testAccuracy({ kind: 'EVALUATE', result: null })).toBeNull();
    expect(testAccuracy({ kind: 'EVALUATE', result: { accuracy: 'high' } })).toBeNull();
    expect(testAccuracy({ kind: 'FINETUNE', result: { accuracy: 0.9 } })).toBeNull();
  });

  it('counts waiting and prioritized jobs as one waiting, and leaves waiting-children out', () => {
    const counts = {
      waiting: 1,
      prioritized: 4,
      delayed: 2,
      active: 3,
      'waiting-children': 9,
      completed: 7,
      failed: 0,
    };
    expect(queueCountsShown(counts)).toEqual([
      ['waiting', 5],
      ['delayed', 2],
      ['active', 3],
      ['completed', 7],
      ['failed', 0],
    ]);
    expect(queueCountsShown({})).toEqual([
      ['waiting', 0],
      ['delayed', 0],
      ['active', 0],
      ['completed', 0],
      ['failed', 0],
    ]);
  });

  it("compares as many runs as the API takes (the contracts' bound, mirrored)", () => {
    expect(COMPARE_MAX_RUNS).toBe(CONTRACTS_COMPARE_MAX_RUNS);
  });

  it('tells ended and waiting runs from the others, as the contracts do', () => {
    const statuses = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'PREEMPTED'];
    expect(statuses.filter(runEnded)).toEqual(TERMINAL_RUN_STATUSES);
    expect(statuses.filter(runWaiting)).toEqual(WAITING_RUN_STATUSES);
  });

  it('says where a waiting run stands, in the words the CLI uses, joined by dots', () => {
    const parked = { resourceClass: 'any' as const, jobState: 'delayed', ahead: null, parked: true, servingWorkers: 1 };
    expect(
      queueFacts({ ...parked, projectLimit: { project: 'vision', running: 1, limit: 1, source: 'project' as const } }),
    ).toMatch(/^its project vision already trains 1 of the 1 runs .* · parked in class any · 1 live worker serves it$/);
    expect(queueFacts({ ...parked, parked: false, jobState: 'prioritized', ahead: 0, projectLimit: null })).toBe(
      'next in line in class any · 1 live worker serves it',
    );
  });

  it('counts runs by status in words', () => {
    expect(countsText({ SUCCEEDED: 2, RUNNING: 1, FAILED: 0 })).toBe('2 succeeded · 1 running');
    expect(countsText({})).toBe('no runs');
  });

  it('reads the metric a run list is sorted by, as the contracts do, and finds its value on a row', () => {
    expect(metricSort('metric:test/accuracy:best')).toEqual({ name: 'test/accuracy', stat: 'best' });
    expect(metricSort(' metric:val_loss:last ')).toEqual({ name: 'val_loss', stat: 'last' });
    expect(metricSort('createdAt')).toBeNull();
    expect(metricSort('metric:val_loss:median')).toBeNull();
    for (const sort of ['metric:test/accuracy:best', 'metric:a:b:max', 'metric::best', 'createdAt', 'metric:x:min'])
      expect(metricSort(sort) !== null).toBe(RUN_LIST_METRIC_SORT.test(sort));
    const summaries = [
      { name: 'val_accuracy', best: 0.8, last: 0.75, min: 0.2, max: 0.8 },
      { name: 'test/accuracy', best: 0.9167, last: 0.9167, min: 0.9167, max: 0.9167 },
    ];
    expect(summaryText(summaries, { name: 'test/accuracy', stat: 'best' })).toBe('0.9167');
    expect(summaryText(summaries, { name: 'val_accuracy', stat: 'last' })).toBe('0.75');
    expect(summaryText(summaries, { name: 'val_loss', stat: 'best' })).toBe('—');
  });

  it('says a recorded value that is not finite (null on the wire) as such, not as "—" (nothing recorded)', () => {
    // A diverged run's loss: its last value NaN, its best a number.
    const diverged = [{ name: 'loss', best: 0.02, last: null, min: 0.02, max: null }];
    expect(summaryText(diverged, { name: 'loss', stat: 'last' })).toBe('not finite');
    expect(summaryText(diverged, { name: 'loss', stat: 'best' })).toBe('0.02');
    expect(summaryText(diverged, { name: 'val_loss', stat: 'last' })).toBe('—');
    expect([null, NaN, Infinity, undefined, 0.5].map((v) => formatMeasured(v))).toEqual([
      'not finite',
      'not finite',
      'not finite',
      '—',
      '0.5',
    ]);
  });

  it("labels an axis's ticks in one notation", () => {
    // The report: "3.00e-4" beside "0.01" on a learning rate's axis.
    expect(axisLabels([0.0003, 0.01])).toEqual(['3e-4', '1e-2']);
    expect(axisLabels([0.00025, 0.03])).toEqual(['2.5e-4', '3e-2']);
    expect(axisLabels([0, 0.0001])).toEqual(['0', '1e-4']);
    expect(axisLabels([16, 32])).toEqual(['16', '32']);
    expect(axisLabels([0.001, 0.1])).toEqual(['0.001', '0.1']);
    expect(axisLabels([0.51234, 0.93])).toEqual(['0.512', '0.93']);
    expect(axisLabels([1, 2_500_000])).toEqual(['1e0', '2.5e6']);
  });

  it('places sweep values on a linear, log or category axis', () => {
    expect(parameterAxis([0.0001, 0.1, 0.01])).toEqual({ kind: 'number', log: true, min: 0.0001, max: 0.1 });
    expect(parameterAxis([16, 32])).toEqual({ kind: 'number', log: false, min: 16, max: 32 });
    expect(parameterAxis(['head', 'none', 'head'])).toEqual({ kind: 'category', categories: ['"head"', '"none"'] });
    expect(axisPosition(0.01, 0.001, 0.1, true)).toBeCloseTo(0.5);
    expect(axisPosition(24, 16, 32)).toBe(0.5);
    expect(axisPosition(3, 3, 3)).toBe(0.5);
  });
});
