import { tally } from './chaos';
import { runChaos } from './chaos-soak';

/**
 * `npm run chaos`, short: 4 runs (2 pretrains, 2 fine-tunes of them), 2 workers, kill -9 and
 * SIGTERM of workers and kill -9 of training processes every ~3 s, and one Redis restart; every
 * check of the soak must pass. Disruptive: it
 * restarts the shared Redis, so it runs in band after the other projects.
 */
describe('chaos soak (short)', () => {
  it('every run SUCCEEDS through random worker and training-process kills, terminations and a Redis restart; metrics exactly once; finals verified', async () => {
    const report = await runChaos(
      { runs: 4, workers: 2, durationS: 75, seed: 7, redisRestart: true, faultEveryMs: 3000 },
      () => undefined,
    );
    const summary = tally(report);
    expect({ failed: report.failed, summary }).toEqual({ failed: [], summary: expect.any(String) });
    expect(report.verdict.lost).toEqual([]);
    expect(report.faults['kill -9'] + report.faults.SIGTERM).toBeGreaterThan(0);
    expect(report.faults['child kill -9']).toBeGreaterThan(0);
    expect(report.faults['redis restart']).toBe(1);
  }, 150_000);
});
