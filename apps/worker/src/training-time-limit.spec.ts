import type { Attempt } from '@trainyard/db';
import { trainingTimeExceeded, trainingTimeUsedMs } from './training-time-limit';

const at = (minutes: number) => new Date(Date.UTC(2026, 11, 6, 10, 0) + minutes * 60_000);
const attempt = (id: string, from: number, to: number | null): Attempt =>
  ({ id, number: Number(id), startedAt: at(from), endedAt: to === null ? null : at(to) }) as Attempt;

describe('the training time a run has used', () => {
  it('adds up its earlier attempts, not the time it waited between them nor the attempt now opening', () => {
    const attempts = [attempt('1', 0, 30), attempt('2', 90, 100), attempt('3', 200, null)];
    expect(trainingTimeUsedMs(attempts, '3', at(500).getTime())).toBe(40 * 60_000);
  });

  it('counts an earlier attempt still open up to now, and a clock that went back as nothing', () => {
    const attempts = [attempt('1', 0, null), attempt('2', 50, 40), attempt('3', 60, null)];
    expect(trainingTimeUsedMs(attempts, '3', at(20).getTime())).toBe(20 * 60_000);
  });

  it('names the setting and the time used, and the kept checkpoints when it was stopped training', () => {
    expect(trainingTimeExceeded(168, 169 * 3_600_000, true)).toMatch(
      /^its training time passed its limit \(QUOTA_RUN_TRAINING_HOURS=168, 168\.0 h\): 169\.0 h over its attempts; .*checkpoints are kept/,
    );
    expect(trainingTimeExceeded(0.5, 31 * 60_000, false)).toBe(
      'its training time passed its limit (QUOTA_RUN_TRAINING_HOURS=0.5, 30 min): 31 min over its attempts',
    );
    expect(trainingTimeExceeded(4 / 3600, 4200, true)).toMatch(
      /=0\.0011\d*, 4 s\): 4 s over its attempts; it was stopped/,
    );
  });
});
