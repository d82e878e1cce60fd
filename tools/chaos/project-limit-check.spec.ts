import { overLimitSpans, type AttemptSpan } from './project-limit-check';

describe('overLimitSpans', () => {
  const span = (project: string, runId: string, startMs: number, endMs: number | null): AttemptSpan => ({
    project,
    runId,
    startMs,
    endMs,
  });
  const limitOne = () => 1;

  it('finds two runs of a project training at once past the tolerance, with when, how long and which', () => {
    const breaches = overLimitSpans(
      [span('a', 'r1', 0, 10_000), span('a', 'r2', 4_000, 12_000)],
      limitOne,
      500,
      20_000,
    );
    expect(breaches).toEqual([
      'project a trained 2 runs at once (limit 1) for 6000 ms from 1970-01-01T00:00:04.000Z: r1, r2',
    ]);
  });

  it('passes runs one after another, places freed and taken at one instant, and overlaps within the tolerance', () => {
    expect(
      overLimitSpans(
        [span('a', 'r1', 0, 1_000), span('a', 'r2', 1_000, 2_000), span('a', 'r3', 1_990, 3_000)],
        limitOne,
        50,
        5_000,
      ),
    ).toEqual([]);
  });

  it('counts a run taken over from a killed worker once, and keeps projects and their limits apart', () => {
    const attempts = [
      // r1's first attempt was left open by a killed worker until the takeover closed it.
      span('a', 'r1', 0, 5_000),
      span('a', 'r1', 5_000, 9_000),
      span('b', 'r2', 1_000, 8_000),
      span('b', 'r3', 2_000, 7_000),
    ];
    expect(overLimitSpans(attempts, (p) => (p === 'b' ? 2 : 1), 0, 10_000)).toEqual([]);
    expect(overLimitSpans(attempts, () => 1, 0, 10_000)).toEqual([
      'project b trained 2 runs at once (limit 1) for 5000 ms from 1970-01-01T00:00:02.000Z: r2, r3',
    ]);
    // No limit for a project: nothing to check.
    expect(overLimitSpans(attempts, () => undefined, 0, 10_000)).toEqual([]);
  });

  it('counts an attempt never closed as open until the end of the soak', () => {
    expect(overLimitSpans([span('a', 'r1', 0, null), span('a', 'r2', 1_000, 2_000)], limitOne, 100, 3_000)).toEqual([
      'project a trained 2 runs at once (limit 1) for 1000 ms from 1970-01-01T00:00:01.000Z: r1, r2',
    ]);
  });
});
