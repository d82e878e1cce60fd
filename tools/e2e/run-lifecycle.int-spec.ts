import { createHash, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Queue, QueueEvents } from 'bullmq';
import {
  authorizedFetch,
  createFreshDatabase,
  serverSentEvents,
  testAdminKey,
  type ServerSentEvent,
} from '@trainyard/db/testing';
import { startS3TestServer } from '@trainyard/storage/testing';
import { keyFromUri, type ObjectStore } from '@trainyard/storage';
import type { FinetuneResult, RunLogLine, RunLogPage, RunSpecInput } from '@trainyard/contracts';
import { freePort, startApp, waitFor, type AppProcess } from './processes';

/**
 * The whole way a job travels, across real boundaries: the API and a worker as separate
 * processes, the real Redis and PostgreSQL, and an S3 server over HTTP. The worker runs with a
 * one-second BullMQ lock, so a training loop that blocked its event loop would stall the job.
 */
describe('a pretrain and a fine-tune travel API → BullMQ → worker → S3/PostgreSQL', () => {
  const queueName = `e2e-${randomUUID()}`;
  let database: { url: string; drop(): Promise<void> };
  let s3: Awaited<ReturnType<typeof startS3TestServer>>;
  let api: AppProcess;
  let worker: AppProcess;
  let baseUrl: string;
  let pg: Client;
  let store: ObjectStore;
  let queueEvents: QueueEvents;
  const stalled: string[] = [];
  const adminKey = testAdminKey();
  const fetch = authorizedFetch(adminKey);
  // Trust auth ignores the password: it is there to prove that no log line ever shows it.
  const databasePassword = `pw-${randomUUID()}`;

  beforeAll(async () => {
    database = await createFreshDatabase();
    s3 = await startS3TestServer();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const env = {
      DATABASE_URL: database.url.replace('://postgres@', `://postgres:${databasePassword}@`),
      TRAINYARD_ADMIN_KEY: adminKey,
      REDIS_URL: 'redis://127.0.0.1:6379',
      ...s3.env(),
      TRAINYARD_QUEUE: queueName,
      API_PORT: String(port),
      WORKER_LOCK_DURATION_MS: '1000',
      WORKER_STALLED_INTERVAL_MS: '300',
      WORKER_MAX_ATTEMPTS: '1',
      TRAINYARD_BACKEND: 'wasm',
    };
    queueEvents = new QueueEvents(queueName, { connection: { host: '127.0.0.1', port: 6379 } });
    queueEvents.on('stalled', ({ jobId }) => stalled.push(jobId));
    await queueEvents.waitUntilReady();
    api = startApp('api', env);
    worker = startApp('worker', env);
    await waitFor(
      'the API to be ready',
      async () => ((await fetch(`${baseUrl}/readyz`)).ok ? true : undefined),
      60_000,
      () => api.output(),
    );
    pg = new Client({ connectionString: database.url });
    await pg.connect();
    store = await s3.objectStore();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await queueEvents?.close();
    const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: 6379 } });
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await pg?.end();
    await s3?.stop();
    await database?.drop();
  });

  const post = async (spec: RunSpecInput) => {
    const response = await fetch(`${baseUrl}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spec),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string; status: string };
  };
  const waitForEnd = (id: string) =>
    waitFor(
      `run ${id} to end`,
      async () => {
        const run = (await (await fetch(`${baseUrl}/v1/runs/${id}`)).json()) as RunBody;
        return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status) ? run : undefined;
      },
      240_000,
      () => `--- worker ---\n${worker.output().slice(-4000)}\n--- api ---\n${api.output().slice(-2000)}`,
    );

  const shapes = { name: 'synthetic-shapes', imageSize: 16, perClass: 120, testPerClass: 25 } as const;
  const encoder = { inputShape: [16, 16, 1] as [number, number, 1], filters: [8, 16], latentDim: 32 };

  it('runs both to SUCCEEDED and records metrics, verified checkpoints and a real evaluation', async () => {
    const pretrain = await post({
      kind: 'pretrain',
      name: 'e2e pretrain',
      dataset: shapes,
      model: { type: 'conv-autoencoder', ...encoder },
      training: { epochs: 3, batchSize: 32, learningRate: 2e-3, seed: 1 },
      checkpoint: { everyEpochs: 1 },
    });
    expect(pretrain.status).toBe('QUEUED');
    const pretrainRun = await waitForEnd(pretrain.id);
    expect(pretrainRun).toMatchObject({ status: 'SUCCEEDED', failureReason: null });

    // Its log: the worker's lines about it and what the training printed, in chunks under
    // runs/<id>/logs/ in S3, whole by the time the run reads SUCCEEDED.
    const log = (await (await fetch(`${baseUrl}/v1/runs/${pretrain.id}/logs`)).json()) as RunLogPage;
    expect(log.complete).toBe(true);
    const said = log.lines.map((l) => `${l.source}: ${l.msg}`);
    expect(said[0]).toMatch(
      new RegExp(`^worker: run ${pretrain.id} \\(pretrain "e2e pretrain"\\) attempt 1 started on worker `),
    );
    expect(said).toContainEqual(
      expect.stringMatching(/^stdout: epoch 3\/3 loss \S+ val_loss \S+ val_mse \S+ \(\d+ img\/s\)$/),
    );
    expect(said.at(-1)).toBe(`worker: run ${pretrain.id} SUCCEEDED`);
    expect(log.lines.every((l) => l.attempt === 1 && l.jobId === pretrain.id)).toBe(true);
    expect((await store.list(`runs/${pretrain.id}/logs/`)).map((o) => o.key)).toEqual([
      `runs/${pretrain.id}/logs/00001-000001.ndjson`,
    ]);
    // The process log names the run, attempt and job on each of those lines.
    const processLog = worker.output().replace(/\u001b\[[0-9;]*m/g, '');
    expect(processLog).toContain(
      `[TrainingProcessor] [run ${pretrain.id} attempt 1 job ${pretrain.id}] run ${pretrain.id} (pretrain`,
    );
    expect(processLog).toMatch(
      new RegExp(`\\[training:stdout\\] \\[run ${pretrain.id} attempt 1 job ${pretrain.id}\\] epoch 1/3 loss`),
    );

    const finetune = await post({
      kind: 'finetune',
      name: 'e2e finetune',
      dataset: { ...shapes, labelsPerClass: 60 },
      model: { type: 'classifier', baseRunId: pretrain.id, ...encoder },
      training: { epochs: 20, batchSize: 16, learningRate: 3e-3, seed: 1 },
      checkpoint: { everyEpochs: 10 },
    });
    // Followed live from submission (nothing logged yet) to the end of the run.
    const followed = (async () => {
      const response = await fetch(`${baseUrl}/v1/runs/${finetune.id}/logs?follow=true`, {
        signal: AbortSignal.timeout(300_000),
      });
      const events: ServerSentEvent[] = [];
      for await (const event of serverSentEvents(response)) events.push(event);
      return events;
    })();
    const finetuneRun = await waitForEnd(finetune.id);
    expect(finetuneRun).toMatchObject({ status: 'SUCCEEDED', baseRunId: pretrain.id });
    const events = await followed;
    expect(events.at(-1)!.event).toBe('end');
    const streamed = events.filter((e) => e.event === 'line').map((e) => JSON.parse(e.data) as RunLogLine);
    expect(streamed.map((l) => l.msg)).toContainEqual(expect.stringMatching(/^epoch 20\/20 loss /));
    // The stream delivered the stored log, every line once, in order.
    const stored = (await (await fetch(`${baseUrl}/v1/runs/${finetune.id}/logs?limit=1000`)).json()) as RunLogPage;
    expect(streamed).toEqual(stored.lines);

    // The evaluation on the held-out test split is real: four classes, chance is 25 %.
    const report = finetuneRun.result as FinetuneResult;
    expect(report.samples).toBe(4 * 25);
    expect(report.accuracy).toBeGreaterThan(0.75);
    expect(report.macroF1).toBeGreaterThan(0.7);
    expect(report.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(100);

    // One metric row per (run, name, step), per-epoch losses for every epoch.
    for (const [id, epochs, names] of [
      [pretrain.id, 3, ['loss', 'val_loss']],
      [finetune.id, 20, ['loss', 'accuracy', 'val_loss', 'val_accuracy']],
    ] as const) {
      const { rows } = await pg.query(
        `SELECT name, count(*)::int AS n, count(DISTINCT step)::int AS steps FROM metric_points
         WHERE run_id = $1 AND name = ANY($2) GROUP BY name`,
        [id, names],
      );
      for (const name of names) {
        const row = rows.find((r) => r.name === name);
        expect({ name, n: row?.n, steps: row?.steps }).toEqual({ name, n: epochs, steps: epochs });
      }
    }

    // Attempts: one each, never stalled, backend recorded.
    const attempts = await pg.query(`SELECT run_id, outcome, backend FROM attempts ORDER BY started_at`);
    expect(attempts.rows).toEqual([
      { run_id: pretrain.id, outcome: 'SUCCEEDED', backend: 'wasm' },
      { run_id: finetune.id, outcome: 'SUCCEEDED', backend: 'wasm' },
    ]);
    expect(stalled).toEqual([]);

    // Checkpoints: COMPLETE rows whose manifest in S3 hashes to the recorded sha256, and whose
    // files hash to what the manifest lists.
    const checkpoints = await pg.query(
      `SELECT run_id, sequence, uri, sha256, bytes::int AS bytes, models FROM checkpoints WHERE status = 'COMPLETE' ORDER BY run_id, sequence`,
    );
    expect(checkpoints.rows.filter((c) => c.run_id === pretrain.id)).toHaveLength(3);
    // Every 10 epochs and at each new best val_accuracy; retention kept the newest and the best,
    // and the best is the checkpoint the result was tested on.
    const finetuneSequences = checkpoints.rows.filter((c) => c.run_id === finetune.id).map((c) => c.sequence);
    expect(finetuneSequences).toContain(report.selection!.best.sequence);
    expect(finetuneSequences.at(-1)).toBe(report.selection!.last.sequence);
    for (const checkpoint of checkpoints.rows) {
      expect(checkpoint.uri).toBe(`s3://${s3.bucket}/runs/${checkpoint.run_id}/checkpoints/${checkpoint.sequence}/`);
      const prefix = keyFromUri(store, checkpoint.uri);
      const manifestBytes = await store.get(`${prefix}manifest.json`);
      expect(sha256(manifestBytes)).toBe(checkpoint.sha256);
      const manifest = JSON.parse(manifestBytes.toString('utf8'));
      let total = 0;
      for (const [path, file] of Object.entries(manifest.files as Record<string, { sha256: string; bytes: number }>)) {
        const body = await store.get(`${prefix}${path}`);
        expect({ path, sha256: sha256(body) }).toEqual({ path, sha256: file.sha256 });
        total += body.length;
      }
      expect(total).toBeGreaterThan(0);
      expect(checkpoint.models).toEqual(
        checkpoint.run_id === pretrain.id ? ['autoencoder', 'encoder'] : ['classifier'],
      );
    }
  }, 600_000);

  it("never writes a secret to a log line, the runs' own logs included: the admin key, the S3 secret, the database password", async () => {
    // A wrong key and a request naming secrets in its body must not bring them into the logs either.
    await fetch(`${baseUrl}/v1/runs`, { headers: { authorization: `Bearer ${adminKey}x` } });
    const chunks = await store.list('runs/');
    const runLogs = await Promise.all(
      chunks.filter((c) => c.key.includes('/logs/')).map(async (c) => (await store.get(c.key)).toString('utf8')),
    );
    expect(runLogs.length).toBeGreaterThanOrEqual(2);
    const logs = `${api.output()}\n${worker.output()}\n${runLogs.join('\n')}`;
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [adminKey, s3.secretKey, databasePassword]) expect(logs).not.toContain(secret);
    expect(logs).not.toMatch(/postgres(ql)?:\/\/[^:\s]+:(?!\*\*\*)[^@\s]+@/);
  });
});

type RunBody = { status: string; result: unknown; [field: string]: unknown };

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
