import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { TEST_ONLY_SETTINGS } from '@trainyard/config';
import { createFreshDatabase } from '@trainyard/db/testing';
import { Cluster, tinyPretrain } from './cluster';
import { waitFor } from './processes';

const run = promisify(execFile);

/**
 * An operator restores PostgreSQL from a backup older than Redis and the object store, the way
 * docs/operations.md says (pg_dump --format=custom, pg_restore --clean --if-exists), under a fleet
 * that keeps running: real API and worker processes, PostgreSQL, Redis and S3.
 */
describe('PostgreSQL restored from an older backup under a running fleet (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;
  let dumps: string;

  beforeAll(async () => {
    cluster = await Cluster.start();
    dumps = await mkdtemp(join(tmpdir(), 'trainyard-restore-'));
  }, 120_000);
  // Each test starts its own worker: one left by a test that failed would take the next one's runs.
  afterEach(async () => {
    await cluster?.stopWorkers('SIGTERM');
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dumps) await rm(dumps, { recursive: true, force: true });
  });

  const dump = async (name: string): Promise<string> => {
    const file = join(dumps, `${name}.dump`);
    await run('pg_dump', ['--format=custom', '--no-owner', '--file', file, cluster.env['DATABASE_URL']!]);
    return file;
  };
  const restore = async (file: string, url = cluster.env['DATABASE_URL']!): Promise<void> => {
    await run('pg_restore', ['--clean', '--if-exists', '--single-transaction', '--no-owner', '-d', url, file]);
  };
  const workerRows = async (): Promise<string[]> =>
    (await cluster.pg.query(`SELECT id FROM workers ORDER BY id`)).rows.map((r: { id: string }) => r.id);

  it('a worker started after the backup registers again and trains, not failing every attempt on its missing row; a job for a run the backup lacks fails once', async () => {
    const beforeWorker = await dump('before-worker');
    const worker = await cluster.startWorker({ NODE_ENV: 'test', [TEST_ONLY_SETTINGS.noTrainingProcess]: '1' });
    expect(await workerRows()).toHaveLength(1);
    await restore(beforeWorker);
    expect(await workerRows()).toHaveLength(0);

    const runId = await cluster.submit(tinyPretrain('after the restore', 1, 4));
    const ended = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED'], 60_000);
    expect([ended.status, ended.failureReason]).toEqual(['SUCCEEDED', null]);
    expect(await workerRows()).toHaveLength(1);
    expect(worker.output()).toMatch(/not in the database/);

    // A job Redis still holds for a run the dump lacks (submitted after it) fails once, not retried.
    const ghost = randomUUID();
    await cluster.queue.add('pretrain', { runId: ghost }, { jobId: ghost, attempts: 3 });
    await waitFor(
      `job ${ghost} to fail`,
      async () => ((await cluster.queue.getJobState(ghost)) === 'failed' ? true : undefined),
      15_000,
      () => cluster.logs(),
    );
    // Read once failed: a job read before holds what it was then.
    const failed = (await cluster.queue.getJob(ghost))!;
    expect([failed.attemptsMade, failed.failedReason]).toEqual([1, `run ${ghost} does not exist in the database`]);
  }, 120_000);

  it('a run the backup holds RUNNING on a worker that lives on but ended it long ago is taken over and resumes from the newest checkpoint the store holds', async () => {
    // The worker looks for attempts it does not hold once every three heartbeat intervals: 6 s
    // here, not the default 30 s (load-config.spec.ts checks it), which this test used to wait out.
    const worker = await cluster.startWorker({ WORKER_HEARTBEAT_INTERVAL_MS: '2000' });
    const runId = await cluster.submit(tinyPretrain('restored while running', 12, 30));
    await cluster.waitForCheckpoints(runId, 2);
    const whileRunning = await dump('while-running');
    expect((await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
    expect(await cluster.settledJobState(runId)).toBe('completed');
    // What the backup holds, read from a copy restored beside the fleet's: the worker may close the
    // attempt the moment the fleet's restore commits (its heartbeat waits on the restore's locks).
    const copy = await createFreshDatabase();
    const backup = new Client({ connectionString: copy.url });
    let restored: { worker_id: string } | undefined;
    let newest: number;
    try {
      await restore(whileRunning, copy.url);
      await backup.connect();
      const attempts = await backup.query(`SELECT number, outcome, worker_id FROM attempts WHERE run_id = $1`, [runId]);
      expect(attempts.rows).toEqual([{ number: 1, outcome: 'RUNNING', worker_id: expect.any(String) }]);
      restored = attempts.rows[0];
      const { rows } = await backup.query(
        `SELECT status, (SELECT max(sequence) FROM checkpoints WHERE run_id = $1 AND status = 'COMPLETE') AS newest
         FROM runs WHERE id = $1`,
        [runId],
      );
      expect(rows[0].status).toBe('RUNNING');
      newest = Number(rows[0].newest);
      expect(newest).toBeGreaterThanOrEqual(1);
    } finally {
      await backup.end().catch(() => undefined);
      await copy.drop();
    }
    await restore(whileRunning);

    // Its owner heartbeats on, so the reconciler takes it for a training still going: the owner itself says it is not.
    const ended = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED'], 90_000);
    expect([ended.status, ended.failureReason]).toEqual(['SUCCEEDED', null]);
    const attempts = await cluster.attempts(runId);
    expect(attempts.map((a) => a.outcome)).toEqual(['CRASHED', 'SUCCEEDED']);
    expect(attempts[0]!.error).toMatch(new RegExp(`worker ${restored!.worker_id} is not training it`));
    // Retention deleted the checkpoints the backup knows once the run first ended; the newest
    // the store still holds, which the backup does not know, is the one it resumes from.
    const folders = await cluster.checkpoints.list(runId);
    const newestInStore = Math.max(...folders.filter((sequence) => sequence < 1000));
    expect(newestInStore).toBeGreaterThan(newest);
    expect(worker.output()).toMatch(new RegExp(`run ${runId} resumed from checkpoint ${newestInStore} `));
    expect(worker.output()).toMatch(new RegExp(`run ${runId}: attempt 1 is RUNNING on this worker .* not training it`));
  }, 180_000);
});
