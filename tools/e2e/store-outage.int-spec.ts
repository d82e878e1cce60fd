import type { RunLogLine } from '@trainyard/contracts';
import { Cluster, tinyPretrain } from './cluster';
import { waitFor } from './processes';

const STORE_OUTAGE = 'object store unavailable: ';
/**
 * Four times the client's own retries (5 tries over about 3 s) and six times the first wait set
 * below, so the run's tries after a wait meet the outage too. With the default first wait of 10 s
 * (store-outage.spec.ts and load-config.spec.ts check it) this test needed a 25 s outage and 75 s.
 */
const OUTAGE_MS = 12_000;
const STORE_WAIT_FIRST_MS = 2000;

/**
 * The object store goes away for longer than its client's own retries while a run trains: the
 * run waits for it (its attempts given back with a growing delay, none counted as a failure) and
 * SUCCEEDS once the store is back, resuming from its last checkpoint, instead of using up
 * WORKER_MAX_ATTEMPTS in half a minute and ending FAILED.
 */
describe('an object store outage (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start();
  }, 120_000);
  afterAll(async () => {
    await cluster?.s3?.up();
    await cluster?.stop();
  });

  it(`delays a training run through a ${OUTAGE_MS / 1000} s outage, then finishes it with no failed attempt`, async () => {
    await cluster.startWorker({ WORKER_STORE_WAIT_FIRST_MS: String(STORE_WAIT_FIRST_MS) });
    // Epochs enough to be training when the store goes (two in) and to meet it at the next checkpoint.
    const runId = await cluster.submit(tinyPretrain('through a store outage', 30));
    await cluster.waitForCheckpoints(runId, 2);
    await cluster.s3!.down();
    const downAt = Date.now();
    try {
      // The attempt that met the outage, given back to wait: not a failure.
      await cluster.waitForSql(
        `run ${runId} to wait for the store`,
        `SELECT count(*) >= 1 AS ok FROM attempts WHERE run_id = $1 AND outcome = 'PREEMPTED' AND starts_with(error, $2)`,
        [runId, STORE_OUTAGE],
        60_000,
      );
      const waiting = await cluster.pg.query(`SELECT status, failure_reason FROM runs WHERE id = $1`, [runId]);
      expect(waiting.rows[0]).toMatchObject({
        status: expect.stringMatching(/^(PREEMPTED|RUNNING)$/),
      });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - downAt))));
    } finally {
      await cluster.s3!.up();
    }
    await cluster.waitForStatus(runId, ['SUCCEEDED'], 180_000);

    const attempts = await cluster.attempts(runId);
    expect(attempts.filter((a) => a.outcome === 'FAILED' || a.outcome === 'CRASHED')).toEqual([]);
    const waited = attempts.filter((a) => a.outcome === 'PREEMPTED');
    expect(waited.length).toBeGreaterThanOrEqual(1);
    for (const attempt of waited) expect(attempt.error).toMatch(new RegExp(`^${STORE_OUTAGE}run ${runId}: `));
    expect(attempts.at(-1)).toMatchObject({ outcome: 'SUCCEEDED' });
    const { rows } = await cluster.pg.query(`SELECT failure_reason FROM runs WHERE id = $1`, [runId]);
    expect(rows[0].failure_reason).toBeNull();

    // Each attempt that waited says so in its own log: its last lines, written at its end while
    // the store was down, were kept and written once it was back.
    for (const attempt of waited)
      await waitFor(
        `attempt ${attempt.number}'s log to say it waits for the store`,
        async () => {
          const response = await cluster.fetch(`${cluster.baseUrl}/v1/runs/${runId}/logs?attempt=${attempt.number}`);
          const { lines } = (await response.json()) as { lines: RunLogLine[] };
          return lines.some((line) =>
            line.msg.includes('the object store could not be reached or had no room; its job tries again'),
          )
            ? true
            : undefined;
        },
        30_000,
        () => cluster.logs(),
      );
  }, 300_000);
});
