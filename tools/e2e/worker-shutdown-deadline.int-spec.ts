import { randomUUID } from 'node:crypto';
import { startFreezableProxy, type FreezableProxy } from '@trainyard/db/testing';
import { Cluster, tinyPretrain } from './cluster';

const TIMEOUT_MS = 4000;

/**
 * A worker stopped (SIGTERM) while its PostgreSQL is silent (a proxy between the two stops
 * forwarding: a stalled server, a partition that sends no reset), its training's writes and its own
 * shutdown's calls left without an answer: it exits within WORKER_SHUTDOWN_TIMEOUT_MS and a small
 * margin, whatever still waits on the database.
 */
describe('a worker stopped while its PostgreSQL does not answer (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;
  let proxy: FreezableProxy;

  beforeAll(async () => {
    cluster = await Cluster.start();
  }, 120_000);
  afterAll(async () => {
    proxy?.thaw();
    await cluster?.stop();
    await proxy?.close();
  });

  it(`exits within WORKER_SHUTDOWN_TIMEOUT_MS (${TIMEOUT_MS} ms) and a small margin`, async () => {
    const database = new URL(cluster.env['DATABASE_URL']!);
    proxy = await startFreezableProxy({ host: database.hostname, port: Number(database.port || 5432) });
    database.port = String(proxy.port);
    const worker = await cluster.startWorker({
      DATABASE_URL: database.toString(),
      WORKER_SHUTDOWN_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    const runId = await cluster.submit(tinyPretrain(`stopped with a silent database ${randomUUID()}`, 500, 20));
    await cluster.waitForCheckpoints(runId, 1);
    proxy.freeze();
    const stoppedAt = Date.now();
    await worker.stop('SIGTERM');
    const tookMs = Date.now() - stoppedAt;
    cluster.workers.splice(cluster.workers.indexOf(worker), 1);
    const output = worker.output();
    // Before, 51 s after SIGTERM: its shutdown's database calls, then closing pg's pool, waited on the silent database.
    expect(tookMs).toBeLessThan(TIMEOUT_MS + 1500);
    expect(tookMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
    // It said what it left behind at the deadline, and why it exited before its connections closed.
    expect(output).toContain(`shutdown deadline (${TIMEOUT_MS} ms) passed with 1 job(s) held`);
    expect(output).toContain(
      `shutdown not done 1000 ms past its deadline (${TIMEOUT_MS} ms, WORKER_SHUTDOWN_TIMEOUT_MS): exiting without closing its connections`,
    );
  }, 180_000);
});
