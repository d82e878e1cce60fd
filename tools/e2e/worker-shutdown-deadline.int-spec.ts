import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startFreezableProxy, type FreezableProxy } from '@trainyard/db/testing';
import { Cluster, REDIS, tinyPretrain } from './cluster';

const TIMEOUT_MS = 4000;

/**
 * A worker stopped (SIGTERM) while its PostgreSQL is silent (a proxy between the two stops
 * forwarding: a stalled server, a partition that sends no reset), its training's writes and its own
 * shutdown's calls left without an answer: it exits within WORKER_SHUTDOWN_TIMEOUT_MS and a small
 * margin, whatever still waits on the database, and its job is back in the queue before it exits:
 * the stopping worker gives up the try its outcome's write had in flight (pg would end it only at
 * its 30 s query deadline) and hands the job back on Redis, which answers.
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

  it(`exits within WORKER_SHUTDOWN_TIMEOUT_MS (${TIMEOUT_MS} ms) and a small margin, its job back in the queue`, async () => {
    const database = new URL(cluster.env['DATABASE_URL']!);
    proxy = await startFreezableProxy({ host: database.hostname, port: Number(database.port || 5432) });
    database.port = String(proxy.port);
    const worker = await cluster.startWorker({
      DATABASE_URL: database.toString(),
      WORKER_SHUTDOWN_TIMEOUT_MS: String(TIMEOUT_MS),
      // Long enough that only the worker itself can have let its job go by the time it exits.
      WORKER_LOCK_DURATION_MS: '60000',
    });
    const runId = await cluster.submit(tinyPretrain(`stopped with a silent database ${randomUUID()}`, 500, 20));
    await cluster.waitForCheckpoints(runId, 1);
    proxy.freeze();
    const stoppedAt = Date.now();
    await worker.stop('SIGTERM');
    const tookMs = Date.now() - stoppedAt;
    cluster.workers.splice(cluster.workers.indexOf(worker), 1);
    const state = await (await cluster.queue.getJob(runId))!.getState();
    const redis = new Redis(REDIS);
    const locked = await redis.exists(cluster.queue.toKey(`${runId}:lock`)).finally(() => redis.disconnect());
    const output = worker.output();
    // Before, 51 s after SIGTERM: its shutdown's database calls, then closing pg's pool, waited on the silent database.
    expect(tookMs).toBeLessThan(TIMEOUT_MS + 1500);
    expect(tookMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
    // Its job went back to BullMQ (to try again) before it exited. Before, it was still active under
    // its lock at the exit, left for another worker to take once the lock expired.
    expect({ state, locked }).toEqual({ state: expect.not.stringMatching(/^active$/), locked: 0 });
    expect(output).toMatch(/job \S+ failed: the database was unreachable .*given up as the process stops/);
    expect(output).not.toContain('passed with 1 job(s) held');
    // Why it exited before its connections closed.
    expect(output).toContain(
      `shutdown not done 1000 ms past its deadline (${TIMEOUT_MS} ms, WORKER_SHUTDOWN_TIMEOUT_MS): exiting without closing its connections`,
    );
  }, 180_000);
});
