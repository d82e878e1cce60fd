import { randomUUID } from 'node:crypto';
import { startFreezableProxy, type FreezableProxy } from '@trainyard/db/testing';
import { Cluster, tinyPretrain } from './cluster';
import { waitFor, type AppProcess } from './processes';

/**
 * Longer than the ~3 s a worker's writes used to retry, and than the 5 s the assertions below
 * count on; 15 s until 2026-12-08, when the whole outage was more than it needed.
 */
const OUTAGE_MS = 8000;
const UNREACHABLE = /the database was unreachable for (\d+) s/;

/**
 * A worker's PostgreSQL stops, as `pg_ctl restart` with a slow checkpoint or a failover stops it:
 * a proxy between the two cuts the open connections and answers new ones FATAL 57P03 ("the
 * database system is shutting down") until it is back; the API and the test keep their own
 * connections. Within WORKER_DATABASE_OUTAGE_PATIENCE_MS the worker's writes wait for it, its
 * training pauses behind them, and the run goes on in the same attempt once the database answers;
 * past the patience the attempt fails as any other, saying how long the database was away.
 */
describe('a worker whose PostgreSQL stops for longer than a restart (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;
  let proxy: FreezableProxy;
  let proxiedUrl: string;

  const startWorker = (env: Record<string, string> = {}): Promise<AppProcess> =>
    cluster.startWorker({
      DATABASE_URL: proxiedUrl,
      DATABASE_QUERY_TIMEOUT_MS: '1000',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      ...env,
    });

  beforeAll(async () => {
    cluster = await Cluster.start();
    const database = new URL(cluster.env['DATABASE_URL']!);
    proxy = await startFreezableProxy({ host: database.hostname, port: Number(database.port || 5432) });
    database.port = String(proxy.port);
    proxiedUrl = database.toString();
  }, 120_000);
  afterEach(async () => {
    proxy?.back();
    await cluster?.stopWorkers('SIGTERM');
  });
  afterAll(async () => {
    await cluster?.stop();
    await proxy?.close();
  });

  it(`rides a ${OUTAGE_MS / 1000} s outage mid-training in one attempt, every epoch recorded once`, async () => {
    const worker = await startWorker();
    // Still training when the outage begins after its first checkpoint, and through it.
    const epochs = 25;
    const runId = await cluster.submit(tinyPretrain(`database outage ${randomUUID()}`, epochs));
    await cluster.waitForSql('training', `SELECT count(*) >= 1 AS ok FROM checkpoints WHERE run_id = $1`, [runId]);
    proxy.restart();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    proxy.back();

    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED'], 120_000);
    expect({ status: run.status, reason: run.failureReason }).toEqual({ status: 'SUCCEEDED', reason: null });
    const attempts = await cluster.attempts(runId);
    expect(attempts.map((a) => a.outcome)).toEqual(['SUCCEEDED']);
    const { rows } = await cluster.pg.query(
      `SELECT count(*)::int AS n, count(DISTINCT step)::int AS steps FROM metric_points WHERE run_id = $1 AND name = 'loss'`,
      [runId],
    );
    expect(rows[0]).toEqual({ n: epochs, steps: epochs });

    // The outage reached the worker's writes, which waited for it, said so once, and said when it ended.
    const log = worker.output();
    expect(log).toMatch(/the database system is shutting down/);
    const waits = log.match(/waits for the database/g) ?? [];
    expect(waits.length).toBeGreaterThanOrEqual(1);
    // A warning at the first failure, then one every ~10 s at most, per waiting write: no flood.
    expect(waits.length).toBeLessThan(10);
    // The training's cancel check, every 0.5 s, too (a line each time before: 16 over this outage).
    expect((log.match(/cancel check for run/g) ?? []).length).toBeLessThan(6);
    const back = /the database answers again after (\d+) s away/.exec(log);
    expect(back).not.toBeNull();
    expect(Number(back![1])).toBeGreaterThanOrEqual(5);
  }, 240_000);

  it('takes a job while the database is down and trains it once it is back, neither attempt nor job failed', async () => {
    const worker = await startWorker();
    proxy.restart();
    let runId: string;
    try {
      runId = await cluster.submit(tinyPretrain(`taken in a database outage ${randomUUID()}`, 4));
      // Taken at once (Redis answers); its run cannot be read until the database is back.
      await waitFor(
        'the worker to take the job',
        async () => ((await cluster.queue.getJob(runId))?.processedOn ? true : undefined),
        30_000,
      );
      // Past the ~3 s the worker's first reads used to retry before the attempt failed.
      await new Promise((r) => setTimeout(r, 5000));
    } finally {
      proxy.back();
    }

    await cluster.waitForStatus(runId, ['SUCCEEDED'], 120_000);
    expect((await cluster.attempts(runId)).map((a) => a.outcome)).toEqual(['SUCCEEDED']);
    expect(await cluster.settledJobState(runId)).toBe('completed');
    // BullMQ counted no failed try of the job either (it allows WORKER_MAX_ATTEMPTS, as the run does):
    // its one try is the one that completed.
    const job = (await cluster.queue.getJob(runId))!;
    expect({ tries: job.attemptsMade, failedReason: job.failedReason }).toEqual({ tries: 1, failedReason: undefined });
    expect(worker.output()).toMatch(/the database answers again after \d+ s away/);
  }, 240_000);

  it('fails the attempt as before once WORKER_DATABASE_OUTAGE_PATIENCE_MS is spent, saying for how long', async () => {
    const worker = await startWorker({ WORKER_DATABASE_OUTAGE_PATIENCE_MS: '2000', WORKER_MAX_ATTEMPTS: '1' });
    const runId = await cluster.submit(tinyPretrain(`database outage past patience ${randomUUID()}`, 40));
    await cluster.waitForSql('training', `SELECT count(*) >= 1 AS ok FROM checkpoints WHERE run_id = $1`, [runId]);
    proxy.restart();
    try {
      // A write gave up and the training stopped: its outcome is being recorded (and waits for the
      // database in turn). Back now, so the attempt's failure itself can be recorded.
      await waitFor(
        'the attempt to end waiting for the database',
        async () => (/counting its failed attempts waits for the database/.test(worker.output()) ? true : undefined),
        60_000,
        () => worker.output(),
      );
    } finally {
      proxy.back();
    }

    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED'], 120_000);
    expect(run.status).toBe('FAILED');
    expect(run.failureReason).toMatch(UNREACHABLE);
    const attempts = await cluster.attempts(runId);
    expect(attempts.map((a) => a.outcome)).toEqual(['FAILED']);
    expect(attempts[0]!.error).toMatch(UNREACHABLE);
    expect(Number(UNREACHABLE.exec(attempts[0]!.error!)![1])).toBeGreaterThanOrEqual(2);
  }, 240_000);

  it('stops waiting for the database once the worker is stopped, and exits within its shutdown deadline', async () => {
    const worker = await startWorker({ WORKER_SHUTDOWN_TIMEOUT_MS: '8000' });
    const runId = await cluster.submit(tinyPretrain(`stopped in a database outage ${randomUUID()}`, 500, 20));
    await cluster.waitForSql('training', `SELECT count(*) >= 1 AS ok FROM checkpoints WHERE run_id = $1`, [runId]);
    proxy.restart();
    await waitFor(
      'a write to wait for the database',
      async () => (/waits for the database/.test(worker.output()) ? true : undefined),
      30_000,
      () => worker.output(),
    );
    const stoppedAt = Date.now();
    await worker.stop('SIGTERM');
    // Half the deadline waiting, then the training stops and its job goes back to BullMQ before the
    // deadline: not held until the worker exits without it, its lock left to expire.
    expect(Date.now() - stoppedAt).toBeLessThan(8000 + 4000);
    expect(worker.output()).not.toMatch(/shutdown deadline \(\d+ ms\) passed/);
    expect(worker.output()).toMatch(
      /the database was unreachable for \d+ s \(\d+ tr(y|ies), given up as the process stops\)/,
    );
  }, 120_000);
});
