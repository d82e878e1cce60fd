import { TEST_ONLY_SETTINGS } from '@trainyard/config';
import { Cluster, tinyPretrain } from './cluster';

/**
 * bench:dispatch measures orchestration alone with a worker whose attempts get a stand-in that
 * trains nothing (TRAINYARD_TEST_NO_TRAINING_PROCESS). Its runs must take the worker's real path
 * (fenced attempt, run log, outcome, job completed), and the switch must do nothing outside tests.
 */
describe('attempts without a training process, the test-only stand-in (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const logOf = async (runId: string): Promise<string[]> => (await cluster.runLog(runId)).map((l) => l.msg);
  const count = async (table: string, runId: string): Promise<number> =>
    (await cluster.pg.query(`SELECT count(*)::int AS n FROM ${table} WHERE run_id = $1`, [runId])).rows[0].n;

  it('under NODE_ENV=test: runs go through the worker to SUCCEEDED, with no process and nothing trained', async () => {
    const worker = await cluster.startWorker({ NODE_ENV: 'test', [TEST_ONLY_SETTINGS.noTrainingProcess]: '1' });
    const ids = await Promise.all([1, 2, 3].map((i) => cluster.submit(tinyPretrain(`stand-in ${i}`, 1, 4))));
    for (const runId of ids) {
      expect((await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
      expect((await cluster.attempts(runId)).map((a) => a.outcome)).toEqual(['SUCCEEDED']);
      expect(await count('metric_points', runId)).toBe(0);
      expect(await count('checkpoints', runId)).toBe(0);
      const log = await logOf(runId);
      expect(log).toContainEqual(expect.stringMatching(/ trains in process \(not started\)/));
      expect(log).toContainEqual(`run ${runId} SUCCEEDED`);
      expect(log.some((msg) => / trains on /.test(msg))).toBe(false);
      expect(await cluster.settledJobState(runId)).toBe('completed');
    }
    // No spare processes either: nothing of TensorFlow.js was started.
    expect(worker.output()).not.toMatch(/prestarted training process/);
    await cluster.stopWorkers('SIGTERM');
  }, 120_000);

  it('outside NODE_ENV=test the switch is ignored: the run trains in a process', async () => {
    await cluster.startWorker({ NODE_ENV: 'production', [TEST_ONLY_SETTINGS.noTrainingProcess]: '1' });
    const runId = await cluster.submit(tinyPretrain('switch ignored', 1, 4));
    expect((await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
    expect(await count('metric_points', runId)).toBeGreaterThan(0);
    expect((await logOf(runId)).some((msg) => / trains on wasm/.test(msg))).toBe(true);
  }, 120_000);
});
