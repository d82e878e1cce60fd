import { trainingTimeExceeded } from './training-time-limit';

describe('why a run is stopped for its training time', () => {
  it('names the setting and the time used, and the kept checkpoints when it was stopped training', () => {
    expect(trainingTimeExceeded(168, 169 * 3_600_000, true)).toMatch(
      /^its training time passed its limit \(QUOTA_RUN_TRAINING_HOURS=168, 168\.0 h\): 169\.0 h over its attempts; it was stopped at its next batch as a preemption is .*checkpoints are kept/,
    );
    expect(trainingTimeExceeded(0.5, 31 * 60_000, false)).toBe(
      'its training time passed its limit (QUOTA_RUN_TRAINING_HOURS=0.5, 30 min): 31 min over its attempts',
    );
    expect(trainingTimeExceeded(4 / 3600, 4200, true)).toMatch(
      /=0\.0011\d*, 4 s\): 4 s over its attempts; it was stopped/,
    );
  });
});
