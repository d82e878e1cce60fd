import { Cluster, tinyPretrain } from './cluster';
import { restartRedis, startRedis } from './redis-restart';

/**
 * Redis restarted (no persistence: every job, lock and queue key lost) while the fleet is idle
 * and while a job runs. Workers and the API reconnect and go on; PostgreSQL, the truth, still
 * lists the runs, and the reconciler enqueues again the QUEUED run whose job Redis lost, and the
 * RUNNING run whose job and worker were lost together once the worker's heartbeat falls silent. Restarts
 * the shared Redis, so it runs alone (Jest project `disruptive`, after the others, in band).
 */
describe('Redis restart (real processes, Redis restarted for real)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    // Reconcile often so the lost job comes back within a second or two.
    cluster = await Cluster.start({ WORKER_RECONCILE_INTERVAL_MS: '1000' });
  }, 120_000);
  afterAll(async () => {
    // Whatever happened, leave a Redis up for whoever runs next.
    await startRedis();
    await cluster?.stop();
  });

  it('restarted while idle: the worker and the API reconnect, the next run SUCCEEDS', async () => {
    const worker = await cluster.startWorker();
    await restartRedis();
    const runId = await cluster.submit(tinyPretrain('after-idle-restart', 3, 20));
    expect(await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED'])).toMatchObject({ status: 'SUCCEEDED' });
    expect((await cluster.attempts(runId)).map((a) => a.outcome)).toEqual(['SUCCEEDED']);
    expect(worker.child.exitCode).toBeNull();
  }, 120_000);

  it('restarted while a job runs: the running run finishes, the queued one is enqueued again, both SUCCEED', async () => {
    const worker = cluster.workers[0]!;
    // Concurrency 1: the first run trains, the second waits in the queue.
    const running = await cluster.submit(tinyPretrain('running-through-restart', 8, 40));
    const queued = await cluster.submit(tinyPretrain('queued-through-restart', 3, 20));
    await cluster.waitForCheckpoints(running, 1);
    expect((await cluster.run(queued)).status).toBe('QUEUED');

    await restartRedis();

    for (const id of [running, queued]) {
      expect(await cluster.waitForStatus(id, ['SUCCEEDED', 'FAILED'], 120_000)).toMatchObject({
        status: 'SUCCEEDED',
        failureReason: null,
      });
    }
    // The running run was never taken over: its worker kept training and concluded it in PostgreSQL.
    expect((await cluster.attempts(running)).map((a) => a.outcome)).toEqual(['SUCCEEDED']);
    expect(worker.output()).toMatch(
      new RegExp(`QUEUED run ${queued}: its job is missing in the queue; enqueued again`),
    );
    expect(worker.child.exitCode).toBeNull();
    const losses = (
      await cluster.pg.query(`SELECT epoch FROM metric_points WHERE run_id = $1 AND name = 'loss' ORDER BY step`, [
        running,
      ])
    ).rows;
    expect(losses.map((l) => l.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  }, 180_000);

  it('a node lost (worker killed and Redis restarted together): the RUNNING run is enqueued again once its worker is silent, and resumes', async () => {
    await cluster.stopWorkers();
    cluster.workers.length = 0;
    // Heartbeats every 500 ms: a worker silent for 1.5 s is dead, so the takeover comes in seconds.
    const fast = { WORKER_HEARTBEAT_INTERVAL_MS: '500' };
    const first = await cluster.startWorker(fast);
    const runId = await cluster.submit(tinyPretrain('node-lost', 8, 40));
    await cluster.waitForCheckpoints(runId, 2);

    first.child.kill('SIGKILL');
    await first.stop();
    await restartRedis();
    // No job anywhere and no stalled-job check to notice: only the reconciler can bring the run back.
    expect(await cluster.queue.getJob(runId)).toBeUndefined();
    expect((await cluster.run(runId)).status).toBe('RUNNING');
    const { epoch: checkpointEpoch } = (
      await cluster.pg.query(
        `SELECT max(epoch)::int AS epoch FROM checkpoints WHERE run_id = $1 AND status = 'COMPLETE'`,
        [runId],
      )
    ).rows[0];

    const second = await cluster.startWorker(fast);
    expect(await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED'], 120_000)).toMatchObject({
      status: 'SUCCEEDED',
      failureReason: null,
    });
    expect(second.output()).toMatch(
      new RegExp(`RUNNING run ${runId}: its job is missing in the queue; enqueued again`),
    );
    const attempts = await cluster.attempts(runId);
    expect(attempts.map((a) => a.outcome)).toEqual(['CRASHED', 'SUCCEEDED']);
    // Resumed from its checkpoint, not restarted: every epoch once, the new attempt's first after the checkpoint.
    const losses = (
      await cluster.pg.query(
        `SELECT epoch, attempt_id FROM metric_points WHERE run_id = $1 AND name = 'loss' ORDER BY step`,
        [runId],
      )
    ).rows;
    expect(losses.map((l) => l.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(losses.find((l) => l.attempt_id === attempts[1]!.id)?.epoch).toBeGreaterThan(checkpointEpoch);
    expect(second.child.exitCode).toBeNull();
  }, 180_000);
});
