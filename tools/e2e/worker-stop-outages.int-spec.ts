import { Cluster, tinyPretrain } from './cluster';
import { freePort, waitFor } from './processes';
import { ThrowawayRedis } from './throwaway-redis';

const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');

/**
 * A worker stopped (SIGTERM) while something it writes to is down: what it could not write or put
 * back is said in its process log before it exits, rather than lost without a word.
 */
describe('a worker stopped during an outage (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start();
  }, 120_000);
  afterAll(async () => {
    await cluster?.s3?.up();
    await cluster?.stop();
  });

  it('says how many lines of the run’s log were lost when the object store is down', async () => {
    const worker = await cluster.startWorker({ WORKER_SHUTDOWN_TIMEOUT_MS: '20000' });
    const runId = await cluster.submit(tinyPretrain('stopped while the store is down', 500, 20));
    await cluster.waitForCheckpoints(runId, 1);
    await cluster.s3!.down();
    try {
      await worker.stop('SIGTERM');
      const output = plain(worker.output());
      // The attempt's last lines (the stop, how it ended) could not be stored: the process log counts them, for that run.
      const lost = new RegExp(
        `\\[run ${runId} attempt 1 job ${runId}\\] up to (\\d+) lines of the run's log were lost: the worker stopped before .+ took them`,
      ).exec(output);
      expect(lost).not.toBeNull();
      expect(Number(lost![1])).toBeGreaterThan(0);
      // Said before the process let its connections go, so before it exited.
      expect(output.indexOf(lost![0])).toBeLessThan(output.indexOf('closing connections'));
    } finally {
      await cluster.s3!.up();
    }
    cluster.workers.splice(cluster.workers.indexOf(worker), 1);
    await waitFor(
      'the run to be back in line',
      async () => {
        const { status } = await cluster.run(runId);
        return status === 'RUNNING' ? undefined : status;
      },
      30_000,
    );
    await cluster.fetch(`${cluster.baseUrl}/v1/runs/${runId}/cancel`, { method: 'POST' });
  }, 180_000);
});

describe('a worker stopped while Redis is down (real processes, a Redis of its own, PostgreSQL, S3)', () => {
  let redis: ThrowawayRedis;
  let cluster: Cluster;

  beforeAll(async () => {
    redis = new ThrowawayRedis(await freePort());
    await redis.start();
    cluster = await Cluster.start({ REDIS_URL: redis.url });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    await redis?.remove();
  });

  it('says at its deadline which jobs it could not put back, and that Redis does not answer', async () => {
    const worker = await cluster.startWorker({ WORKER_SHUTDOWN_TIMEOUT_MS: '6000' });
    const runId = await cluster.submit(tinyPretrain('stopped while Redis is down', 500, 20));
    await cluster.waitForCheckpoints(runId, 1);
    await redis.kill();
    await worker.stop('SIGTERM');
    const output = plain(worker.output());
    // The run was preempted (checkpoint, PREEMPTED in PostgreSQL); only its job's move back waits on Redis.
    const { rows } = await cluster.pg.query(`SELECT status FROM runs WHERE id = $1`, [runId]);
    expect(rows[0].status).toBe('PREEMPTED');
    expect(output).toContain(
      `shutdown deadline (6000 ms) passed with 1 job(s) held and none training: 1 not yet put back in the queue (run ${runId}): Redis at 127.0.0.1:${redis.port} does not answer (connection `,
    );
    expect(output).not.toMatch(/with 0 training\(s\) still held/);
    cluster.workers.splice(cluster.workers.indexOf(worker), 1);
  }, 180_000);
});
