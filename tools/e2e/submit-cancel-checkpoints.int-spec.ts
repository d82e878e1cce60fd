import { randomUUID } from 'node:crypto';
import { Cluster, tinyPretrain } from './cluster';

/** Idempotent submits, cancellation, divergence, checkpoint retention and database outages, end to end. */
describe('submit, cancel, diverge, retention, PostgreSQL outages (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start({ CHECKPOINT_KEEP_LAST: '2' });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const completeCheckpoints = async (runId: string) =>
    (
      await cluster.pg.query(
        `SELECT id, sequence, uri, status FROM checkpoints WHERE run_id = $1 AND status = 'COMPLETE' ORDER BY sequence`,
        [runId],
      )
    ).rows;

  it('50 concurrent POSTs with one Idempotency-Key create one run and one job and get the same response; another body → 422', async () => {
    const spec = tinyPretrain(`idempotent ${randomUUID()}`, 2);
    const key = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => cluster.post(spec, { 'Idempotency-Key': key })),
    );
    const bodies = await Promise.all(responses.map(async (r) => ({ status: r.status, body: await r.text() })));
    expect(new Set(bodies.map((b) => `${b.status} ${b.body}`)).size).toBe(1);
    expect(bodies[0]!.status).toBe(201);
    const { id } = JSON.parse(bodies[0]!.body) as { id: string };
    expect((await cluster.pg.query(`SELECT count(*)::int AS n FROM runs WHERE name = $1`, [spec.name])).rows[0].n).toBe(
      1,
    );
    expect(await cluster.queue.getJob(id)).toBeDefined();
    expect(await cluster.queue.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized')).toBe(1);

    const other = await cluster.post({ ...spec, name: 'another body' }, { 'Idempotency-Key': key });
    expect(other.status).toBe(422);
    expect(await other.text()).toContain('Idempotency-Key');
    // Without a worker the run is still waiting: cancelling it is immediate and removes its job.
    const cancelled = (await (
      await cluster.fetch(`${cluster.baseUrl}/v1/runs/${id}/cancel`, { method: 'POST' })
    ).json()) as { status: string };
    expect(cancelled.status).toBe('CANCELLED');
    expect(await cluster.queue.getJob(id)).toBeUndefined();
  });

  it('cancels a running run within a batch and keeps its checkpoints; keeps the last K and the best; survives killed PostgreSQL connections', async () => {
    await cluster.startWorker();
    const runId = await cluster.submit(tinyPretrain('outage and retention', 12, 60));
    await cluster.waitForSql('training', `SELECT count(*) >= 1 AS ok FROM checkpoints WHERE run_id = $1`, [runId]);
    // Kill every connection to this database, the worker's and the API's, over and over for a few seconds.
    let kills = 0;
    for (let i = 0; i < 8; i++) {
      const { rows } = await cluster.pg.query(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      kills += rows[0].n;
      await new Promise((r) => setTimeout(r, 600));
    }
    expect(kills).toBeGreaterThan(0);
    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED']);
    expect(run.status).toBe('SUCCEEDED');
    expect((await cluster.attempts(runId)).map((a) => a.outcome)).toEqual(['SUCCEEDED']);
    const epochs = (
      await cluster.pg.query(`SELECT count(*)::int AS n FROM metric_points WHERE run_id = $1 AND name = 'loss'`, [
        runId,
      ])
    ).rows[0].n;
    expect(epochs).toBe(12);

    // Retention: the newest 2 and the best by val_loss stay COMPLETE; the rest are DELETED with their objects gone.
    const all = (
      await cluster.pg.query(
        `SELECT sequence, status, metric_name, metric_value FROM checkpoints WHERE run_id = $1 ORDER BY sequence`,
        [runId],
      )
    ).rows;
    const kept = all.filter((c) => c.status === 'COMPLETE');
    const best = [...all].sort((a, b) => a.metric_value - b.metric_value)[0];
    expect(kept.map((c) => c.sequence)).toEqual(
      [...new Set([best.sequence, ...all.slice(-2).map((c) => c.sequence)])].sort((a, b) => a - b),
    );
    expect(all.filter((c) => c.status === 'DELETED').length).toBe(all.length - kept.length);
    for (const c of all.filter((c) => c.status === 'DELETED')) {
      expect(await cluster.store.list(`runs/${runId}/checkpoints/${c.sequence}/`)).toEqual([]);
    }

    // A fine-tune pins the base's latest checkpoint at submit.
    const finetune = await cluster.submit({
      kind: 'finetune',
      name: 'pinned',
      dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 40, testPerClass: 5, labelsPerClass: 30 },
      model: { type: 'classifier', baseRunId: runId, inputShape: [16, 16, 1], filters: [8], latentDim: 16 },
      training: { epochs: 40, batchSize: 8, learningRate: 1e-3, seed: 1 },
      checkpoint: { everyEpochs: 2 },
    });
    const pinned = (await cluster.pg.query(`SELECT base_checkpoint_id FROM runs WHERE id = $1`, [finetune])).rows[0]
      .base_checkpoint_id;
    expect(pinned).toBe((await completeCheckpoints(runId)).at(-1)!.id);

    // Cancel it mid-training: it stops within a batch or so, and its checkpoints stay.
    await cluster.waitForSql(
      'the fine-tune to checkpoint',
      `SELECT count(*) >= 2 AS ok FROM checkpoints WHERE run_id = $1`,
      [finetune],
    );
    const requestedAt = (await cluster.pg.query('SELECT now() AS t')).rows[0].t as Date;
    const response = await cluster.fetch(`${cluster.baseUrl}/v1/runs/${finetune}/cancel`, { method: 'POST' });
    expect(response.status).toBe(200);
    const cancelled = await cluster.waitForStatus(finetune, ['CANCELLED', 'SUCCEEDED', 'FAILED'], 10_000);
    expect(cancelled.status).toBe('CANCELLED');
    // From the flag to the end of the attempt: the worker's poll (0.5 s) and one batch, no more.
    const { rows } = await cluster.pg.query(
      `SELECT extract(epoch FROM ended_at - $2::timestamptz)::float8 AS s FROM attempts WHERE run_id = $1`,
      [finetune, requestedAt],
    );
    expect(rows[0].s).toBeLessThan(2);
    expect((await completeCheckpoints(finetune)).length).toBeGreaterThanOrEqual(2);
    expect((await cluster.attempts(finetune)).map((a) => a.outcome)).toEqual(['CANCELLED']);
  }, 180_000);

  it('a NaN loss fails the run with "diverged at epoch E, step S" and is not retried', async () => {
    // The run resumes from a checkpoint whose weights went NaN (a verified one: the manifest
    // matches), as training that blew up would leave them: its next loss is NaN.
    await cluster.stopWorkers();
    cluster.workers.length = 0;
    const spec = tinyPretrain('outage and retention', 12, 60);
    const source = (
      await cluster.pg.query(
        `SELECT c.uri, c.epoch, c.step FROM checkpoints c JOIN runs r ON r.id = c.run_id WHERE r.name = $1 AND c.status = 'COMPLETE' ORDER BY c.sequence LIMIT 1`,
        [spec.name],
      )
    ).rows[0];
    const { files, meta } = await cluster.checkpoints.read(source.uri);
    const nan = Buffer.alloc(files['autoencoder/weights.bin']!.length);
    for (let i = 0; i + 4 <= nan.length; i += 4) nan.writeFloatLE(NaN, i);
    const runId = await cluster.submit({ ...spec, name: 'diverges' });
    const written = await cluster.checkpoints.write(runId, 1, { ...files, 'autoencoder/weights.bin': nan }, meta);
    await cluster.pg.query(
      `INSERT INTO checkpoints (id, run_id, sequence, epoch, step, uri, bytes, sha256, status, models) VALUES ($1, $2, 1, $3, $4, $5, $6, $7, 'COMPLETE', ARRAY['autoencoder', 'encoder'])`,
      [randomUUID(), runId, source.epoch, source.step, written.uri, written.bytes, written.sha256],
    );
    await cluster.startWorker();
    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED']);
    expect(run.status).toBe('FAILED');
    expect(run.failureReason).toMatch(new RegExp(`diverged at epoch ${source.epoch + 1}, step \\d+`));
    expect((await cluster.attempts(runId)).map((a) => a.outcome)).toEqual(['FAILED']);
    // Failed for good: not back in the queue for a retry.
    expect(await cluster.settledJobState(runId)).toBe('failed');
  }, 120_000);
});
