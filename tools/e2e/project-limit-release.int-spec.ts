import type { RunSpecInput } from '@trainyard/contracts';
import { Cluster, tinyPretrain } from './cluster';
import { freePort, waitFor, type AppProcess } from './processes';

/** A run that trains until it is cancelled (minutes of epochs; a checkpoint now and then). */
const untilCancelled = (name: string, priority?: number): RunSpecInput =>
  ({
    ...tinyPretrain(name, 1000, 20),
    checkpoint: { everyEpochs: 250 },
    ...(priority === undefined ? {} : { priority }),
  }) as RunSpecInput;

const sample = (body: string, series: string): number => {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
};

/**
 * A job parked at its project's limit and let back in line as a run of the project ends takes the
 * place that run left, on the worker whose run ended: not a later job of the project queued
 * behind it, not a job of lower priority (docs/operations.md, Per-project limits). One worker,
 * two slots: project vision (limit 1) trains A and has B parked, the other slot trains a run of
 * another project, and one more job waits in line when A ends.
 */
describe('a parked job let back in line (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;
  let worker: AppProcess;
  let metricsPort: number;
  let visionKey: string;

  beforeAll(async () => {
    cluster = await Cluster.start();
    const limit = await cluster.fetch(`${cluster.baseUrl}/v1/projects/vision/limits`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ maxRunning: 1 }),
    });
    expect(limit.status).toBe(200);
    const key = await cluster.fetch(`${cluster.baseUrl}/v1/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'vision', scopes: ['read', 'submit'], project: 'vision' }),
    });
    expect(key.status).toBe(201);
    visionKey = ((await key.json()) as { token: string }).token;
    metricsPort = await freePort();
    worker = await cluster.startWorker({
      WORKER_CONCURRENCY: '2',
      WORKER_PRESTART: 'false',
      WORKER_METRICS_PORT: String(metricsPort),
    });
  }, 120_000);
  afterAll(async () => cluster?.stop());

  const asVision = (spec: RunSpecInput) => cluster.submit(spec, { authorization: `Bearer ${visionKey}` });
  const cancel = (id: string) => cluster.fetch(`${cluster.baseUrl}/v1/runs/${id}/cancel`, { method: 'POST' });
  const startedAt = async (id: string): Promise<Date | undefined> =>
    (await cluster.pg.query(`SELECT started_at FROM attempts WHERE run_id = $1 AND number = 1`, [id])).rows[0]
      ?.started_at;

  /**
   * Vision's A trains and its B is parked; the other slot trains another project's run; `behind`
   * is submitted, then A is cancelled: the run that starts next in A's place is returned, with B.
   */
  async function placeLeftBy(
    behind: () => Promise<string>,
  ): Promise<{ next: string; b: string; others: string[]; bParkedFor: number }> {
    const a = await asVision(untilCancelled('vision a'));
    await cluster.waitForStatus(a, ['RUNNING']);
    const b = await asVision(untilCancelled('vision b'));
    const bRecorded = Date.now();
    await waitFor(
      `run ${b} to be parked`,
      async () => (worker.output().includes(`run ${b} parked until a run of its project ends`) ? true : undefined),
      30_000,
      () => cluster.logs(),
    );
    // B stays parked 2 s at least, whatever the machine's pace: its queue wait must show that time.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const other = await cluster.submit(untilCancelled('other project'));
    await cluster.waitForStatus(other, ['RUNNING']);
    const waiting = await behind();
    expect((await cluster.run(waiting)).status).toBe('QUEUED');

    // B cannot start before A's place is left: it waits at least this long, parked most of it.
    const bParkedFor = (Date.now() - bRecorded) / 1000;
    expect((await cancel(a)).status).toBe(200);
    const next = await waitFor(
      'a run to start in the place A left',
      async () => {
        for (const id of [b, waiting]) if (await startedAt(id)) return id;
        return undefined;
      },
      60_000,
      () => cluster.logs(),
    );
    // Give the other one the time to start too, had it taken a slot as well.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return { next, b, others: [a, other, waiting], bParkedFor };
  }

  async function cancelAll(ids: string[]): Promise<void> {
    for (const id of ids) await cancel(id);
    for (const id of ids) await cluster.waitForStatus(id, ['CANCELLED', 'SUCCEEDED', 'FAILED']);
  }

  it('goes before a later job of its project queued behind it, and its queue wait counts the time parked', async () => {
    const { next, b, others, bParkedFor } = await placeLeftBy(() => asVision(untilCancelled('vision c')));
    const c = others[2]!;
    try {
      expect(next).toBe(b);
      expect(await startedAt(c)).toBeUndefined();
      expect((await cluster.run(c)).status).toBe('QUEUED');
      expect(worker.output()).toMatch(
        new RegExp(`project vision has 1 place\\(s\\) free under its limit: ${b} back in line`),
      );

      // trainyard_worker_queue_wait_seconds: B's wait runs from its submission to its start, the
      // time it spent parked included, not to the take that parked it.
      const { rows } = await cluster.pg.query(
        `SELECT extract(epoch FROM a.started_at - r.created_at)::float AS waited FROM attempts a JOIN runs r ON r.id = a.run_id WHERE a.run_id = $1`,
        [b],
      );
      const waited = rows[0].waited as number;
      // A bound from the test's own clock, not a guess at how long the steps above take (2 s, before:
      // a quiet machine takes less).
      expect(waited).toBeGreaterThan(bParkedFor);
      expect(bParkedFor).toBeGreaterThanOrEqual(2);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      // A, the other project's run and B: each counted once, when its training started.
      expect(sample(metrics, 'trainyard_worker_queue_wait_seconds_count')).toBe(3);
      expect(sample(metrics, 'trainyard_worker_queue_wait_seconds_sum')).toBeGreaterThan(waited - 0.5);
    } finally {
      await cancelAll([b, ...others]);
    }
  }, 240_000);

  it('goes before a job of lower priority waiting in line', async () => {
    const { next, b, others } = await placeLeftBy(() => cluster.submit(untilCancelled('sweep-like', -10)));
    try {
      expect(next).toBe(b);
      expect(await startedAt(others[2]!)).toBeUndefined();
    } finally {
      await cancelAll([b, ...others]);
    }
  }, 240_000);
});
