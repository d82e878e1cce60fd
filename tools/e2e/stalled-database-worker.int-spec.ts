import { randomUUID } from 'node:crypto';
import { startFreezableProxy, type FreezableProxy } from '@trainyard/db/testing';
import { Cluster, tinyPretrain } from './cluster';

const STALL_MS = 4000;

/**
 * A worker whose PostgreSQL stops answering for a few seconds mid-training (a proxy between the
 * two stops forwarding; the API and the test keep their own connections): with deadlines of 1 s
 * (DATABASE_QUERY_TIMEOUT_MS, DATABASE_CONNECT_TIMEOUT_MS) its writes fail fast during the
 * stall and are retried, or the attempt is retried from its checkpoint; the run ends SUCCEEDED
 * with every epoch's metrics once, none lost and none twice.
 */
describe('a worker whose PostgreSQL stops answering mid-training (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;
  let proxy: FreezableProxy;

  beforeAll(async () => {
    cluster = await Cluster.start();
    const database = new URL(cluster.env['DATABASE_URL']!);
    proxy = await startFreezableProxy({ host: database.hostname, port: Number(database.port || 5432) });
    database.port = String(proxy.port);
    await cluster.startWorker({
      DATABASE_URL: database.toString(),
      DATABASE_QUERY_TIMEOUT_MS: '1000',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
    });
  }, 120_000);
  afterAll(async () => {
    proxy?.thaw();
    await cluster?.stop();
    await proxy?.close();
  });

  it('finishes the run with every epoch recorded once', async () => {
    // Long enough (seconds of training) that the stall lands while metrics are being written.
    const epochs = 40;
    const runId = await cluster.submit(tinyPretrain(`stalled database ${randomUUID()}`, epochs));
    await cluster.waitForSql('training', `SELECT count(*) >= 1 AS ok FROM checkpoints WHERE run_id = $1`, [runId]);
    proxy.freeze();
    await new Promise((r) => setTimeout(r, STALL_MS));
    proxy.thaw();

    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED'], 120_000);
    expect({ status: run.status, reason: run.failureReason }).toEqual({ status: 'SUCCEEDED', reason: null });
    const attempts = await cluster.attempts(runId);
    expect(attempts.at(-1)!.outcome).toBe('SUCCEEDED');
    const { rows } = await cluster.pg.query(
      `SELECT count(*)::int AS n, count(DISTINCT step)::int AS steps FROM metric_points WHERE run_id = $1 AND name = 'loss'`,
      [runId],
    );
    expect(rows[0]).toEqual({ n: epochs, steps: epochs });
    // The stall reached the worker: its deadlines fired, its writes waited and went on.
    const log = cluster.workers.map((w) => w.output()).join('\n');
    expect(log).toMatch(/Query read timeout|Connection terminated due to connection timeout/);
    expect(log).toMatch(/waits for the database \(try 1: /);
    expect(log).toMatch(/the database answers again after \d+ (ms|s) away/);
  }, 180_000);
});
