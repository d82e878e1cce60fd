import type { SweepWithRuns } from '@trainyard/db';
import { sweepLeaderboard } from './sweep-leaderboard';

/** A sweep's runs as the repository gives them: name, status and the summaries of one metric. */
function sweepOf(runs: { name: string; status: string; best?: number }[]): SweepWithRuns {
  return {
    runs: runs.map((run) => ({
      id: `id-${run.name}`,
      name: run.name,
      status: run.status,
      failureReason: null,
      sweepParams: {},
      result: null,
      summaries: run.best === undefined ? [] : [{ name: 'val_loss', best: run.best }],
    })),
  } as unknown as SweepWithRuns;
}

describe('sweep leaderboard', () => {
  it('ranks a summary metric by its own goal (a loss lowest first), whatever goal the sweep recorded', () => {
    const sweep = sweepOf([
      { name: 'a', status: 'SUCCEEDED', best: 0.9 },
      { name: 'b', status: 'SUCCEEDED', best: 0.1 },
      { name: 'c', status: 'SUCCEEDED', best: 0.5 },
    ]);
    for (const goal of [undefined, 'max', 'min'] as const) {
      const board = sweepLeaderboard(sweep, { metric: 'val_loss', goal });
      expect(board.map((e) => [e.name, e.rank])).toEqual([
        ['b', 1],
        ['c', 2],
        ['a', 3],
      ]);
    }
  });

  it('ranks only SUCCEEDED runs with a finite value; the others follow unranked, by name', () => {
    const board = sweepLeaderboard(
      sweepOf([
        { name: 'diverged', status: 'FAILED', best: 0.01 },
        { name: 'nan', status: 'SUCCEEDED', best: Number.NaN },
        { name: 'inf', status: 'SUCCEEDED', best: Number.NEGATIVE_INFINITY },
        { name: 'good', status: 'SUCCEEDED', best: 0.3 },
        { name: 'running', status: 'RUNNING', best: 0.2 },
        { name: 'better', status: 'SUCCEEDED', best: 0.1 },
        { name: 'queued', status: 'QUEUED' },
      ]),
      { metric: 'val_loss' },
    );
    expect(board.map((e) => [e.name, e.rank, e.value])).toEqual([
      ['better', 1, 0.1],
      ['good', 2, 0.3],
      ['diverged', null, 0.01],
      ['inf', null, null],
      ['nan', null, null],
      ['queued', null, null],
      ['running', null, 0.2],
    ]);
  });

  it('gives equal values one rank (1, 1, 3) and orders names as a person reads them (#4 before #10)', () => {
    const board = sweepLeaderboard(
      sweepOf([
        { name: 'sweep #10', status: 'SUCCEEDED', best: 0.5 },
        { name: 'sweep #4', status: 'SUCCEEDED', best: 0.5 },
        { name: 'sweep #2', status: 'SUCCEEDED', best: 0.7 },
        { name: 'sweep #11', status: 'SUCCEEDED', best: 0.2 },
        { name: 'sweep #12', status: 'CANCELLED', best: 0.1 },
        { name: 'sweep #3', status: 'QUEUED' },
      ]),
      { metric: 'val_loss' },
    );
    expect(board.map((e) => [e.name, e.rank])).toEqual([
      ['sweep #11', 1],
      ['sweep #4', 2],
      ['sweep #10', 2],
      ['sweep #2', 4],
      ['sweep #3', null],
      ['sweep #12', null],
    ]);
  });
});
