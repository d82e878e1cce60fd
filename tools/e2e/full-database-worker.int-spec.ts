import { randomUUID } from 'node:crypto';
import { createConnectionLimitedRole, type ConnectionLimitedRole } from '@trainyard/db/testing';
import { Cluster, tinyPretrain } from './cluster';
import { waitFor } from './processes';

/** Long enough for every write of the training to meet the refusal, short enough to keep the suite modest. */
const FULL_MS = 8000;

/**
 * A worker's PostgreSQL is up but full: it refuses the worker's new connections ("too many
 * connections for role", 53300, as a server at `max_connections` says "too many clients already")
 * and has ended those it held, mid-training; the API and the test keep theirs. The worker's writes
 * wait for places, as for a restart (WORKER_DATABASE_OUTAGE_PATIENCE_MS), and the run goes on in
 * the same attempt once connections are taken again. Before, the refusal was a plain error: the
 * attempt failed on it.
 */
describe('a worker whose PostgreSQL refuses new connections mid-training (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;
  let role: ConnectionLimitedRole;

  beforeAll(async () => {
    cluster = await Cluster.start();
    role = await createConnectionLimitedRole();
  }, 120_000);
  afterEach(async () => {
    await role?.accept();
    await cluster?.stopWorkers('SIGTERM');
  });
  afterAll(async () => {
    await cluster?.stop();
    await role?.drop();
  });

  const startWorker = () =>
    cluster.startWorker({
      DATABASE_URL: role.urlFor(cluster.env['DATABASE_URL']!),
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
    });

  it(`waits ${FULL_MS / 1000} s of refused connections out in one attempt, every epoch recorded once`, async () => {
    const worker = await startWorker();
    // Still training when the refusals begin after its first checkpoint, and through them.
    const epochs = 25;
    const runId = await cluster.submit(tinyPretrain(`database full ${randomUUID()}`, epochs));
    await cluster.waitForSql('training', `SELECT count(*) >= 1 AS ok FROM checkpoints WHERE run_id = $1`, [runId]);
    await role.refuse();
    try {
      await new Promise((r) => setTimeout(r, FULL_MS));
    } finally {
      await role.accept();
    }

    expect(await cluster.runEnding(runId)).toEqual({
      status: 'SUCCEEDED',
      reason: null,
      outcomes: ['SUCCEEDED'],
      loss: { n: epochs, steps: epochs },
    });

    // The refusal reached the worker's writes, which waited, said so a few times, not per try.
    const log = worker.output();
    expect(log).toMatch(/too many connections for role/);
    const waits = log.match(/waits for the database/g) ?? [];
    expect(waits.length).toBeGreaterThanOrEqual(1);
    expect(waits.length).toBeLessThan(10);
    expect(log).toMatch(/the database answers again after \d+ s away/);
  }, 240_000);

  it('takes a job while the database refuses its connections and trains it once it takes them, neither attempt nor job failed', async () => {
    const worker = await startWorker();
    await role.refuse();
    let runId: string;
    try {
      runId = await cluster.submit(tinyPretrain(`taken while the database is full ${randomUUID()}`, 4));
      // Taken at once (Redis answers); its attempt cannot be opened until connections are taken again.
      await waitFor(
        'the worker to take the job',
        async () => ((await cluster.queue.getJob(runId))?.processedOn ? true : undefined),
        30_000,
      );
      await new Promise((r) => setTimeout(r, 5000));
    } finally {
      await role.accept();
    }
    expect(await cluster.runEnding(runId)).toMatchObject({
      status: 'SUCCEEDED',
      reason: null,
      outcomes: ['SUCCEEDED'],
    });
    expect(await cluster.settledJobState(runId)).toBe('completed');
    const job = (await cluster.queue.getJob(runId))!;
    expect({ tries: job.attemptsMade, failedReason: job.failedReason }).toEqual({ tries: 1, failedReason: undefined });
    expect(worker.output()).toMatch(/too many connections for role/);
  }, 240_000);
  it('trains two runs at once in a pool of 2 connections (DATABASE_POOL_MAX), every one named for pg_stat_activity', async () => {
    // Sized down to fit a fleet under max_connections: the floor the setting allows still trains,
    // two trainings sharing it (their metric and checkpoint writes, heartbeats, the reconciler).
    await cluster.startWorker({ DATABASE_POOL_MAX: '2', WORKER_CONCURRENCY: '2' });
    const runIds = await Promise.all(
      [1, 2].map((n) => cluster.submit(tinyPretrain(`pool of two, run ${n} ${randomUUID()}`, 12))),
    );
    const seen = new Map<string, number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await cluster.pg.query<{ name: string; n: number }>(
          `SELECT application_name AS name, count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1`,
        );
        for (const { name, n } of rows) seen.set(name, Math.max(seen.get(name) ?? 0, n));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      for (const ending of await Promise.all(runIds.map((id) => cluster.runEnding(id))))
        expect(ending).toMatchObject({ status: 'SUCCEEDED', reason: null, outcomes: ['SUCCEEDED'] });
      // Trained side by side, not one after the other.
      const { rows } = await cluster.pg.query<{ overlap: boolean }>(
        `SELECT max(started_at) < min(ended_at) AS overlap FROM attempts WHERE run_id = ANY($1::uuid[])`,
        [runIds],
      );
      expect(rows[0]!.overlap).toBe(true);
    } finally {
      sampling = false;
      await sampler;
    }
    expect(seen.get('trainyard-worker')).toBeGreaterThanOrEqual(1);
    expect(seen.get('trainyard-worker')).toBeLessThanOrEqual(2);
    expect(seen.get('trainyard-api')).toBeGreaterThanOrEqual(1);
  }, 240_000);
});
