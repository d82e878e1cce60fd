import { randomUUID } from 'node:crypto';
import { Cluster, tinyPretrain } from './cluster';
import { waitFor } from './processes';

/**
 * A worker that lost its job cannot write for the run any more (fencing), a run that keeps
 * crashing its workers ends FAILED, and the reconciler settles runs whose job is gone.
 */
describe('fencing, crash loops and reconciliation (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const count = async (sql: string, params: unknown[]) => Number((await cluster.pg.query(sql, params)).rows[0].n);
  const keys = async (sql: string, params: unknown[]) =>
    new Set((await cluster.pg.query(sql, params)).rows.map((r) => r.k as string));

  it('SIGSTOP past lockDuration, another worker takes over, SIGCONT: the first writes no metric, checkpoint or status', async () => {
    await cluster.startWorker();
    await cluster.startWorker();
    const runId = await cluster.submit(tinyPretrain('fenced', 16, 80));
    await cluster.waitForSql('two checkpoints', `SELECT count(*) >= 2 AS ok FROM checkpoints WHERE run_id = $1`, [
      runId,
    ]);
    const [first] = await cluster.attempts(runId);
    const zombie = cluster.workerOf(first!.worker_id);
    zombie.child.kill('SIGSTOP');
    try {
      await cluster.waitForSql(
        'a second attempt',
        `SELECT count(*) >= 2 AS ok FROM attempts WHERE run_id = $1`,
        [runId],
        30_000,
      );
      // Let the new attempt write for a while, then wake the old worker mid-run.
      await cluster.waitForSql(
        'the new attempt to checkpoint',
        `SELECT count(*) >= 1 AS ok FROM checkpoints WHERE run_id = $1 AND sequence > 1000`,
        [runId],
      );
    } finally {
      zombie.child.kill('SIGCONT');
    }
    const pointsBefore = await keys(`SELECT name || '@' || step AS k FROM metric_points WHERE attempt_id = $1`, [
      first!.id,
    ]);
    const checkpointsBefore = await keys(`SELECT sequence::text AS k FROM checkpoints WHERE attempt_id = $1`, [
      first!.id,
    ]);

    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED']);
    expect(run.status).toBe('SUCCEEDED');
    await waitFor(
      'the paused worker to notice',
      async () => (/fenced off|no longer the run's current attempt/.test(zombie.output()) ? true : undefined),
      20_000,
      () => zombie.output(),
    );

    const attempts = await cluster.attempts(runId);
    expect(attempts.map((a) => a.outcome)).toEqual(['CRASHED', 'SUCCEEDED']);
    const pointsAfter = await keys(`SELECT name || '@' || step AS k FROM metric_points WHERE attempt_id = $1`, [
      first!.id,
    ]);
    const checkpointsAfter = await keys(`SELECT sequence::text AS k FROM checkpoints WHERE attempt_id = $1`, [
      first!.id,
    ]);
    expect([...pointsAfter].filter((k) => !pointsBefore.has(k))).toEqual([]);
    expect([...checkpointsAfter].filter((k) => !checkpointsBefore.has(k))).toEqual([]);
    // The run's status and result are the new attempt's; the zombie is still alive and well.
    expect(zombie.child.exitCode).toBeNull();
    await cluster.stopWorkers();
    cluster.workers.length = 0;
  }, 180_000);

  it('a run that keeps crashing its workers ends FAILED with the reason after WORKER_MAX_ATTEMPTS', async () => {
    const env = { WORKER_MAX_ATTEMPTS: '2' };
    const runId = await cluster.submit(tinyPretrain('crash loop', 60, 80));
    for (let n = 1; n <= 2; n++) {
      const worker = await cluster.startWorker(env);
      await cluster.waitForSql(`attempt ${n} to train`, `SELECT count(*) >= $2 AS ok FROM attempts WHERE run_id = $1`, [
        runId,
        n,
      ]);
      worker.child.kill('SIGKILL');
      await worker.stop();
    }
    await cluster.startWorker(env);
    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED']);
    expect(run.status).toBe('FAILED');
    expect(run.failureReason).toMatch(/gave up after 2 failed attempts .*CRASHED: worker .* stopped or lost the job/);
    expect((await cluster.attempts(runId)).map((a) => a.outcome)).toEqual(['CRASHED', 'CRASHED', 'FAILED']);
  }, 180_000);

  it('the reconciler enqueues a QUEUED run whose job is missing, and fails a dead RUNNING one whose attempts are spent', async () => {
    await cluster.stopWorkers();
    cluster.workers.length = 0;
    await cluster.startWorker({ WORKER_MAX_ATTEMPTS: '2' });
    const spec = JSON.stringify(tinyPretrain('lost enqueue', 2));
    const lost = randomUUID();
    await cluster.pg.query(
      `INSERT INTO runs (id, kind, name, spec, updated_at) VALUES ($1, 'PRETRAIN', 'lost enqueue', $2, now() - interval '1 minute')`,
      [lost, spec],
    );
    const dead = randomUUID();
    const [crashed, running] = [randomUUID(), randomUUID()];
    // One transaction: a reconciler pass must not see the run without its attempts.
    await cluster.pg.query('BEGIN');
    await cluster.pg.query(
      `INSERT INTO workers (id, hostname, pid, last_heartbeat_at) VALUES ('gone-1', 'gone', 1, now() - interval '10 minutes')`,
    );
    await cluster.pg.query(
      `INSERT INTO runs (id, kind, name, spec, status, updated_at) VALUES ($1, 'PRETRAIN', 'dead', $2, 'RUNNING', now() - interval '1 minute')`,
      [dead, spec],
    );
    await cluster.pg.query(
      `INSERT INTO attempts (id, run_id, number, worker_id, outcome) VALUES ($1, $3, 1, 'gone-1', 'CRASHED'), ($2, $3, 2, 'gone-1', 'RUNNING')`,
      [crashed, running, dead],
    );
    await cluster.pg.query(`UPDATE runs SET current_attempt_id = $1 WHERE id = $2`, [running, dead]);
    await cluster.pg.query('COMMIT');

    expect((await cluster.waitForStatus(lost, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
    const failed = await cluster.waitForStatus(dead, ['SUCCEEDED', 'FAILED']);
    expect(failed.failureReason).toMatch(/RUNNING run .*: its job is missing in the queue, and 2 of 2 attempts failed/);
    expect((await cluster.attempts(dead)).map((a) => a.outcome)).toEqual(['CRASHED', 'CRASHED']);
    expect(await count(`SELECT count(*) AS n FROM runs WHERE id = $1 AND current_attempt_id IS NULL`, [dead])).toBe(1);
  }, 120_000);
});
