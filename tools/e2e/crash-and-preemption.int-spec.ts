import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, tinyPretrain, trainingProcesses } from './cluster';
import { waitFor } from './processes';

/**
 * Workers and training processes killed for real: `kill -9` of a worker or of one attempt's
 * training process, a training process that hangs, SIGTERM, and a drain through the API. The run
 * resumes from its last COMPLETE checkpoint and ends SUCCEEDED with its loss curve continuing.
 */
describe('crash and preemption (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start();
  }, 120_000);
  afterEach(async () => {
    await cluster.stopWorkers();
    cluster.workers.length = 0;
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const checkpointsOf = async (runId: string) =>
    (
      await cluster.pg.query(
        `SELECT sequence, epoch, step, status, reason, attempt_id FROM checkpoints WHERE run_id = $1 ORDER BY sequence`,
        [runId],
      )
    ).rows;
  const epochLosses = async (runId: string) =>
    (
      await cluster.pg.query(
        `SELECT epoch, step, value, attempt_id FROM metric_points WHERE run_id = $1 AND name = 'loss' ORDER BY step`,
        [runId],
      )
    ).rows as {
      epoch: number;
      step: number;
      value: number;
      attempt_id: string;
    }[];

  /** Every visible series has one point per step, and the summaries agree with the points. */
  const expectExactlyOnceMetrics = async (runId: string, epochs: number) => {
    const losses = await epochLosses(runId);
    expect(losses.map((l) => l.epoch)).toEqual(Array.from({ length: epochs }, (_, i) => i + 1));
    const { rows } = await cluster.pg.query(
      `SELECT s.name, s.count = p.n AS count_ok, s.last = p.last AS last_ok, s.min = p.min AS min_ok, s.max = p.max AS max_ok
       FROM metric_summaries s JOIN (
         SELECT name, count(*)::int AS n, min(value) AS min, max(value) AS max, (array_agg(value ORDER BY step DESC))[1] AS last
         FROM metric_points WHERE run_id = $1 GROUP BY name) p ON p.name = s.name
       WHERE s.run_id = $1`,
      [runId],
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows)
      expect(row).toEqual({ name: row.name, count_ok: true, last_ok: true, min_ok: true, max_ok: true });
  };

  /**
   * The preemption contract, wherever the SIGTERM landed: the newest checkpoint holds the exact
   * position the attempt stopped at, so no completed batch is lost. Mid-epoch the training process
   * writes a 'preempt' checkpoint; if the signal came right after an epoch's interval checkpoint (nothing
   * trained since) that checkpoint is the position, and no second one is written. Either way no
   * point the attempt wrote (sampled batch losses, epoch metrics) lies past the checkpoint's step.
   */
  const expectCheckpointedWhereItStopped = async (runId: string, newest: Record<string, unknown> | undefined) => {
    const [attempt] = await cluster.attempts(runId);
    expect(newest).toMatchObject({
      status: 'COMPLETE',
      attempt_id: attempt!.id,
      reason: expect.stringMatching(/^(preempt|interval)$/),
    });
    const written = (
      await cluster.pg.query(
        `SELECT max(step)::int AS step, max(epoch)::int AS epoch FROM metric_points WHERE run_id = $1 AND attempt_id = $2`,
        [runId, attempt!.id],
      )
    ).rows[0];
    expect(newest!['step']).toBeGreaterThanOrEqual(written.step);
    if (newest!['reason'] === 'interval') {
      // At an epoch boundary: the checkpoint is that epoch's end, where its epoch metrics sit.
      const epochLoss = (await epochLosses(runId)).find((l) => l.epoch === newest!['epoch']);
      expect(epochLoss?.step).toBe(newest!['step']);
      expect(written.epoch).toBe(newest!['epoch']);
    }
  };

  it('kill -9 mid-training: another worker resumes from the last good COMPLETE checkpoint, the run SUCCEEDS, loss continues', async () => {
    await cluster.startWorker();
    const epochs = 14;
    const runId = await cluster.submit(tinyPretrain('crash', epochs, 80));
    await cluster.waitForCheckpoints(runId, 3);
    const [first] = await cluster.attempts(runId);
    const victim = cluster.workerOf(first!.worker_id);
    const [orphan] = trainingProcesses(victim.output(), runId);
    victim.child.kill('SIGKILL');
    await victim.stop();
    // Its training process does not train on for no one: it ends with the worker that supervised it.
    await waitFor(
      `training process ${orphan!.pid} to end with its worker`,
      async () => (isRunning(orphan!.pid) ? undefined : true),
      10_000,
    );
    const complete = (await checkpointsOf(runId)).filter((c) => c.status === 'COMPLETE');
    const [newest, previous] = [complete.at(-1)!, complete.at(-2)!];

    // What a crash mid-upload leaves: files without a manifest, and no row. Resume never sees it.
    const halfWritten = newest.sequence + 1;
    await cluster.store.put(
      `runs/${runId}/checkpoints/${halfWritten}/autoencoder/weights.bin`,
      Buffer.from('half an upload'),
    );
    // And the newest COMPLETE checkpoint rots in storage: its sha256 no longer matches.
    await cluster.store.put(
      `runs/${runId}/checkpoints/${newest.sequence}/autoencoder/weights.bin`,
      Buffer.from('bit rot'),
    );

    await cluster.startWorker();
    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED']);
    expect(run).toMatchObject({ status: 'SUCCEEDED', failureReason: null });
    const attempts = await cluster.attempts(runId);
    expect(attempts.map((a) => a.outcome)).toEqual(['CRASHED', 'SUCCEEDED']);
    expect(attempts[1]!.worker_id).not.toBe(first!.worker_id);
    const after = await checkpointsOf(runId);
    expect(after.find((c) => c.sequence === newest.sequence)?.status).toBe('CORRUPT');
    expect(after.find((c) => c.sequence === halfWritten)).toBeUndefined();
    const resumedLine = cluster.workers[1]!.output().match(/resumed from checkpoint (\d+) \(epoch (\d+)/);
    expect(resumedLine?.slice(1).map(Number)).toEqual([previous.sequence, previous.epoch]);

    // Resumed, not restarted: the new attempt trained only the epochs after that checkpoint.
    const losses = await epochLosses(runId);
    const byNewAttempt = losses.filter((l) => l.attempt_id === attempts[1]!.id);
    expect(byNewAttempt[0]!.epoch).toBe(previous.epoch + 1);
    expect(losses.filter((l) => l.attempt_id === attempts[0]!.id).every((l) => l.epoch <= previous.epoch)).toBe(true);
    // No jump back: the first loss after the resume is close to the one before it, far below epoch 1's.
    const before = losses.find((l) => l.epoch === previous.epoch)!;
    expect(byNewAttempt[0]!.value).toBeLessThan(before.value * 1.25);
    expect(byNewAttempt[0]!.value).toBeLessThan(losses[0]!.value);
    await expectExactlyOnceMetrics(runId, epochs);

    // The new attempt's checkpoints come from its own sequence block; the last is the verified final one.
    const final = after.filter((c) => c.status === 'COMPLETE').pop();
    expect(final).toMatchObject({ epoch: epochs, reason: 'final', attempt_id: attempts[1]!.id });
    expect(final.sequence).toBeGreaterThan(1000);
    await expect(
      cluster.checkpoints.read(`s3://${cluster.env['S3_BUCKET']}/runs/${runId}/checkpoints/${final.sequence}/`),
    ).resolves.toBeDefined();
  }, 180_000);

  it('kill -9 of the training process: only that attempt fails; the same worker retries in a fresh process from the checkpoint', async () => {
    const worker = await cluster.startWorker();
    const epochs = 14;
    const runId = await cluster.submit(tinyPretrain('child crash', epochs, 80));
    await cluster.waitForCheckpoints(runId, 2);
    const [victim] = trainingProcesses(worker.output(), runId);
    process.kill(victim!.pid, 'SIGKILL');

    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED']);
    expect(run.status).toBe('SUCCEEDED');
    const attempts = await cluster.attempts(runId);
    expect(attempts.map((a) => a.outcome)).toEqual(['FAILED', 'SUCCEEDED']);
    expect(attempts[0]!.error).toMatch(
      new RegExp(
        `^training process of run ${runId} \\(pid ${victim!.pid}\\) ended without an outcome \\(signal SIGKILL\\)`,
      ),
    );
    // The worker stayed up and took the retry itself, in a new process.
    expect(worker.child.exitCode).toBeNull();
    expect(attempts[1]!.worker_id).toBe(attempts[0]!.worker_id);
    const processes = trainingProcesses(worker.output(), runId);
    expect(processes.map((p) => p.attempt)).toEqual([1, 2]);
    expect(processes[1]!.pid).not.toBe(victim!.pid);
    // Resumed from attempt 1's last checkpoint: attempt 2 trained only the epochs after it.
    const resumed = worker.output().match(/resumed from checkpoint (\d+) \(epoch (\d+)/);
    expect(resumed).not.toBeNull();
    const losses = await epochLosses(runId);
    expect(losses.filter((l) => l.attempt_id === attempts[1]!.id)[0]!.epoch).toBe(Number(resumed![2]) + 1);
    await expectExactlyOnceMetrics(runId, epochs);

    // The next job on this worker starts yet another process.
    const next = await cluster.submit(tinyPretrain('after the crash', 1, 20));
    expect((await cluster.waitForStatus(next, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
    const [nextProcess] = trainingProcesses(worker.output(), next);
    expect(processes.map((p) => p.pid)).not.toContain(nextProcess!.pid);
  }, 180_000);

  it('a training process that stops answering is killed after WORKER_CHILD_HEARTBEAT_TIMEOUT_MS, and the attempt retried', async () => {
    // Test-only, honoured under NODE_ENV=test: the first training process to create this file hangs.
    const hangOnce = join(tmpdir(), `trainyard-hang-${randomUUID()}`);
    const worker = await cluster.startWorker({
      NODE_ENV: 'test',
      TRAINYARD_TEST_CHILD_HANG_ONCE: hangOnce,
      WORKER_CHILD_HEARTBEAT_TIMEOUT_MS: '5000',
    });
    const runId = await cluster.submit(tinyPretrain('hangs', 3, 20));
    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED']);
    expect(run.status).toBe('SUCCEEDED');
    const attempts = await cluster.attempts(runId);
    expect(attempts.map((a) => a.outcome)).toEqual(['FAILED', 'SUCCEEDED']);
    const [hung] = trainingProcesses(worker.output(), runId);
    expect(attempts[0]!.error).toMatch(
      new RegExp(
        `^training process of run ${runId} \\(pid ${hung!.pid}\\) sent nothing for \\d+ ms \\(WORKER_CHILD_HEARTBEAT_TIMEOUT_MS=5000\\) and was killed \\(SIGKILL\\); its last stderr lines: .*hangs now`,
      ),
    );
    expect(isRunning(hung!.pid)).toBe(false);
    expect(worker.child.exitCode).toBeNull();
  }, 180_000);

  it('SIGTERM: the worker checkpoints, marks the attempt and run PREEMPTED, requeues without using a retry, exits in time', async () => {
    const worker = await cluster.startWorker({ WORKER_SHUTDOWN_TIMEOUT_MS: '15000' });
    // Ten epochs left when the SIGTERM comes, two in: it lands mid-training.
    const runId = await cluster.submit(tinyPretrain('preempt', 12, 80));
    await cluster.waitForCheckpoints(runId, 2);
    const started = Date.now();
    await worker.stop('SIGTERM');
    expect(Date.now() - started).toBeLessThan(15_000);

    expect((await cluster.run(runId)).status).toBe('PREEMPTED');
    const [attempt] = await cluster.attempts(runId);
    expect(attempt).toMatchObject({ outcome: 'PREEMPTED', error: 'preempted: the worker was asked to stop (SIGTERM)' });
    // While it shut down, the fleet saw it draining; now it is stopped.
    const {
      rows: [row],
    } = await cluster.pg.query(`SELECT drain_mode, stopped_at IS NOT NULL AS stopped FROM workers WHERE id = $1`, [
      attempt!.worker_id,
    ]);
    expect(row).toEqual({ drain_mode: 'preempt', stopped: true });
    const checkpoints = await checkpointsOf(runId);
    await expectCheckpointedWhereItStopped(runId, checkpoints.at(-1));
    const job = await cluster.queue.getJob(runId);
    // Waiting again at once (runs have a priority, so BullMQ calls it prioritized), not delayed.
    expect(await job!.getState()).toBe('prioritized');
    expect(job!.attemptsMade).toBe(0);

    const next = await cluster.startWorker();
    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED']);
    expect(run.status).toBe('SUCCEEDED');
    expect((await cluster.attempts(runId)).map((a) => a.outcome)).toEqual(['PREEMPTED', 'SUCCEEDED']);
    // Nothing the preempted attempt trained was past its checkpoint, so the resume supersedes nothing.
    expect(next.output()).toMatch(
      new RegExp(
        `resumed from checkpoint ${checkpoints.at(-1).sequence} \\(epoch \\d+, step ${checkpoints.at(-1).step}\\); 0 later metric points superseded`,
      ),
    );
    await expectExactlyOnceMetrics(runId, 12);
  }, 180_000);
  const attemptSeconds = async (runId: string) =>
    (
      await cluster.pg.query(
        `SELECT extract(epoch FROM ended_at - started_at)::float AS seconds FROM attempts WHERE run_id = $1 ORDER BY number`,
        [runId],
      )
    ).rows.map((row: { seconds: number }) => row.seconds);

  it('QUOTA_RUN_TRAINING_HOURS: a run past it is stopped at a batch, its position checkpointed, and FAILED without retry', async () => {
    // Long enough, counted from the attempt's start, to be training (and checkpointing every epoch) when it runs out.
    const limitSeconds = 8;
    await cluster.startWorker({ QUOTA_RUN_TRAINING_HOURS: String(limitSeconds / 3600) });
    const runId = await cluster.submit(tinyPretrain('over time', 400, 80));
    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED']);
    expect(run.status).toBe('FAILED');
    expect(run.failureReason).toMatch(
      /^its training time passed its limit \(QUOTA_RUN_TRAINING_HOURS=0\.002\d*, 8 s\): ([89]|1\d) s over its attempts; it was stopped at its next batch as a preemption is/,
    );
    const attempts = await cluster.attempts(runId);
    expect(attempts.map((a) => a.outcome)).toEqual(['FAILED']);
    // The run is FAILED in PostgreSQL first, then its job in BullMQ: once it is, on its one attempt.
    const job = await waitFor(
      `job ${runId} failed in BullMQ`,
      async () => {
        const found = await cluster.queue.getJob(runId);
        return found && (await found.getState()) === 'failed' ? found : undefined;
      },
      15_000,
      () => cluster.logs(),
    );
    expect(job.attemptsMade).toBe(1);
    // It trained to its limit, not to its 400 epochs, and kept where it got to.
    const [seconds] = await attemptSeconds(runId);
    expect(seconds).toBeGreaterThanOrEqual(limitSeconds);
    expect(seconds).toBeLessThan(limitSeconds + 20);
    await expectCheckpointedWhereItStopped(runId, (await checkpointsOf(runId)).at(-1));
  }, 120_000);

  it('QUOTA_RUN_TRAINING_HOURS counts every attempt: a run preempted halfway through gets only what is left on its next one', async () => {
    const limitSeconds = 12;
    const env = { QUOTA_RUN_TRAINING_HOURS: String(limitSeconds / 3600), WORKER_SHUTDOWN_TIMEOUT_MS: '15000' };
    const first = await cluster.startWorker(env);
    const runId = await cluster.submit(tinyPretrain('over time twice', 400, 80));
    await cluster.waitForCheckpoints(runId, 1);
    const {
      rows: [{ started }],
    } = await cluster.pg.query(`SELECT started_at AS started FROM attempts WHERE run_id = $1`, [runId]);
    // Stopped halfway, 6 of its 12 s in: about 6 s are left for the next attempt, not another 12.
    const half = (limitSeconds / 2) * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (started as Date).getTime() + half - Date.now())));
    await first.stop('SIGTERM');
    expect((await cluster.run(runId)).status).toBe('PREEMPTED');
    await cluster.startWorker(env);
    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED']);
    expect(run.status).toBe('FAILED');
    expect(run.failureReason).toMatch(/QUOTA_RUN_TRAINING_HOURS/);
    expect((await cluster.attempts(runId)).map((a) => a.outcome)).toEqual(['PREEMPTED', 'FAILED']);
    const [used, second] = await attemptSeconds(runId);
    expect(used).toBeGreaterThanOrEqual(limitSeconds / 2);
    expect(used).toBeLessThan(limitSeconds);
    // What was left (with its stop on top), far from a new 12 s.
    expect(second).toBeGreaterThanOrEqual(limitSeconds - used! - 0.5);
    expect(second).toBeLessThan(limitSeconds - 1);
  }, 180_000);

  it('drain through the API mid-run: the worker preempts, takes no new job, reports drained; the run resumes on another worker', async () => {
    const drained = await cluster.startWorker({ WORKER_HEARTBEAT_INTERVAL_MS: '300' });
    const runId = await cluster.submit(tinyPretrain('drain', 12, 80));
    await cluster.waitForCheckpoints(runId, 2);
    const [first] = await cluster.attempts(runId);
    const workerState = async () =>
      (
        (await (await cluster.fetch(`${cluster.baseUrl}/v1/workers`)).json()) as {
          workers: { id: string; state: string }[];
        }
      ).workers.find((w) => w.id === first!.worker_id)?.state;

    const res = await cluster.fetch(`${cluster.baseUrl}/v1/workers/${first!.worker_id}/drain`, { method: 'POST' });
    expect([res.status, await res.text()]).toEqual([202, expect.stringContaining('"state":"draining"')]);
    await cluster.waitForSql(
      `worker ${first!.worker_id} to be drained`,
      `SELECT drained_at IS NOT NULL AS ok FROM workers WHERE id = $1`,
      [first!.worker_id],
    );
    expect(await workerState()).toBe('drained');
    expect((await cluster.run(runId)).status).toBe('PREEMPTED');
    const [preempted] = await cluster.attempts(runId);
    expect(preempted).toMatchObject({ outcome: 'PREEMPTED', error: expect.stringContaining('drained') });
    await expectCheckpointedWhereItStopped(runId, (await checkpointsOf(runId)).at(-1));
    expect(drained.output()).toMatch(/draining \(preempt\)/);

    // Drained, still up, and it takes nothing: a new run waits for another worker.
    const waiting = await cluster.submit(tinyPretrain('after-drain', 2, 20));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await cluster.run(waiting)).status).toBe('QUEUED');
    expect(drained.child.exitCode).toBeNull();
    // The preempted run is first in line, ahead of the run of the same priority submitted after it.
    expect((await cluster.queue.getPrioritized()).map((job) => job.id)).toEqual([runId, waiting]);

    const next = await cluster.startWorker();
    for (const id of [runId, waiting])
      expect((await cluster.waitForStatus(id, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
    const attempts = await cluster.attempts(runId);
    expect(attempts.map((a) => a.outcome)).toEqual(['PREEMPTED', 'SUCCEEDED']);
    expect(attempts[1]!.worker_id).not.toBe(first!.worker_id);
    expect((await cluster.attempts(waiting)).map((a) => a.worker_id)).toEqual([attempts[1]!.worker_id]);
    expect(next.output()).toMatch(/resumed from checkpoint \d+/);
    await expectExactlyOnceMetrics(runId, 12);
  }, 180_000);
  it('drain with mode finish: the held run ends here, heartbeats go on meanwhile (the worker is never lost), then drained', async () => {
    const worker = await cluster.startWorker({ WORKER_HEARTBEAT_INTERVAL_MS: '300' });
    const runId = await cluster.submit(tinyPretrain('drain-finish', 30, 60));
    await cluster.waitForCheckpoints(runId, 1);
    const [first] = await cluster.attempts(runId);
    const heartbeat = async () =>
      (await cluster.pg.query(`SELECT last_heartbeat_at FROM workers WHERE id = $1`, [first!.worker_id])).rows[0]
        .last_heartbeat_at as Date;
    const res = await cluster.fetch(`${cluster.baseUrl}/v1/workers/${first!.worker_id}/drain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'finish' }),
    });
    expect(res.status).toBe(202);
    await waitFor(
      'the worker to act on the drain',
      async () => (/draining \(finish\)/.test(worker.output()) ? true : undefined),
      30_000,
      () => cluster.logs(),
    );
    const before = await heartbeat();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Still training here, and still beating.
    expect((await cluster.run(runId)).status).toBe('RUNNING');
    expect((await heartbeat()).getTime()).toBeGreaterThan(before.getTime());
    expect((await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
    expect((await cluster.attempts(runId)).map((a) => [a.outcome, a.worker_id])).toEqual([
      ['SUCCEEDED', first!.worker_id],
    ]);
    await cluster.waitForSql(
      `worker ${first!.worker_id} to be drained`,
      `SELECT drained_at IS NOT NULL AS ok FROM workers WHERE id = $1`,
      [first!.worker_id],
    );
  }, 180_000);
});

/** Alive, and not a zombie waiting to be reaped by whoever adopted it. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
