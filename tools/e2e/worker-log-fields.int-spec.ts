import { randomUUID } from 'node:crypto';
import { JOB_NAMES } from '@trainyard/contracts';
import { Cluster, tinyPretrain } from './cluster';
import { waitFor } from './processes';

interface JsonLine {
  level: string;
  context?: string;
  message: string;
  runId?: string;
  attempt?: number;
  jobId?: string;
}

/**
 * A worker's process log with LOG_JSON=true, as a log shipper reads it: every line about a job
 * names its run and BullMQ job as top-level fields, and the attempt once one is open; the lines
 * before an attempt too, with the job's own id.
 */
describe("a worker's JSON log lines name the run, attempt and job (real processes, Redis, PostgreSQL, S3)", () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const linesOf = (output: string): JsonLine[] =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as JsonLine);

  it('on the attempt’s lines and on a line logged before any attempt opens', async () => {
    const worker = await cluster.startWorker({ LOG_JSON: 'true' });
    const runId = await cluster.submit(tinyPretrain('log fields', 1, 20));
    expect((await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');

    const about = linesOf(worker.output()).filter((l) => l.message.includes(runId));
    expect(about.length).toBeGreaterThan(2);
    for (const line of about.filter((l) => l.context === 'TrainingProcessor'))
      expect(line).toMatchObject({ runId, attempt: 1, jobId: runId });
    expect(linesOf(worker.output())).toContainEqual(
      expect.objectContaining({ context: 'training:stdout', runId, attempt: 1, jobId: runId }),
    );

    // A second job for the finished run, under another id: the worker opens no attempt, and its
    // line says which job it was.
    const strayJobId = `stray-${randomUUID()}`;
    await cluster.queue.add(JOB_NAMES.pretrain, { runId }, { jobId: strayJobId });
    const stray = await waitFor(
      'the worker to answer the stray job',
      async () =>
        linesOf(worker.output()).find((l) => l.message === `run ${runId} is already SUCCEEDED; nothing to do`),
      30_000,
      () => cluster.logs(),
    );
    expect(stray).toMatchObject({ level: 'warn', runId, jobId: strayJobId });
    expect(stray.attempt).toBeUndefined();
    await worker.stop(); // the next test's runs go to its own worker
  }, 180_000);

  it('names each run on the lines about it when runs follow one another in processes started ahead', async () => {
    // Keeping one checkpoint, every epoch's deletes the one before it: CheckpointRetention's lines
    // are logged while the run's events are handled, in the process started ahead of it.
    const worker = await cluster.startWorker({ LOG_JSON: 'true', CHECKPOINT_KEEP_LAST: '1', WORKER_PRESTART: 'true' });
    const runs: string[] = [];
    for (const name of ['first of two', 'second of two']) {
      const runId = await cluster.submit(tinyPretrain(name, 3, 20));
      expect((await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
      runs.push(runId);
    }
    // Retention's last pass may end just after the run is recorded SUCCEEDED.
    for (const runId of runs) {
      const retention = await waitFor(
        `CheckpointRetention's lines about run ${runId}`,
        async () => {
          const found = linesOf(worker.output()).filter(
            (l) => l.context === 'CheckpointRetention' && l.message.includes(runId),
          );
          return found.length > 0 ? found : undefined;
        },
        30_000,
        () => cluster.logs(),
      );
      for (const line of retention) expect(line).toMatchObject({ runId, jobId: runId });
    }
    const lines = linesOf(worker.output());
    // The second run trained in the process started while the first one ended.
    expect(lines).toContainEqual(
      expect.objectContaining({
        context: 'TrainingProcessor',
        runId: runs[1],
        message: expect.stringContaining('(prestarted)'),
      }),
    );
  }, 180_000);
});
