import { tally } from './chaos';
import { runChaos } from './chaos-soak';

/**
 * `npm run chaos`, short: 4 runs (2 pretrains, 2 fine-tunes of them), 2 workers, kill -9 and
 * SIGTERM of workers and kill -9 of training processes every ~3 s for up to 60 s (the first a
 * training process, the second a worker, as soon as a run trains), one Redis restart, one Redis
 * freeze (SIGSTOP past the workers' lock duration) and one object store outage (8 s), then up to
 * 120 s of quiet for the runs to finish; every check of the soak must pass. Disruptive: it
 * restarts the shared Redis, so it runs in band after the other projects.
 */
describe('chaos soak (short)', () => {
  const lines: string[] = [];
  it('every run SUCCEEDS through random worker and training-process kills, terminations, a Redis restart, a Redis freeze and an object store outage; metrics exactly once; finals verified', async () => {
    const report = await runChaos(
      { runs: 4, workers: 2, durationS: 60, settleS: 120, seed: 7, redisRestart: true, faultEveryMs: 3000 },
      (line) => lines.push(line),
    );
    const summary = tally(report);
    // What happened, for whoever reads a failure in CI.
    if (report.failed.length) console.log(`${lines.join('\n')}\n${summary}`);
    expect({ failed: report.failed, summary }).toEqual({ failed: [], summary: expect.any(String) });
    expect(report.verdict.lost).toEqual([]);
    expect(report.faults['kill -9'] + report.faults.SIGTERM).toBeGreaterThan(0);
    expect(report.faults['child kill -9']).toBeGreaterThan(0);
    expect(report.faults['redis restart']).toBe(1);
    expect(report.faults['redis freeze']).toBe(1);
    expect(report.faults['store outage']).toBe(1);
  }, 240_000);
});
