import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { CheckpointsRepository, RunsRepository } from '@trainyard/db';
import { augmentationSampleKey, createObjectStore, type ObjectStore } from '@trainyard/storage';
import { startS3TestServer, type S3TestServer } from '@trainyard/storage/testing';
import { startTestApi, type TestApi } from './testing/test-api';

/**
 * Datasets and models registries, and the references runs make to them (a registered base, an
 * evaluated checkpoint, a registered dataset), over HTTP against real PostgreSQL, Redis and an
 * S3 server. Folders are checked by listing only, so any bytes stand in for images here.
 */
describe('datasets and models registries (PostgreSQL, Redis, S3, HTTP)', () => {
  let api: TestApi;
  let s3: S3TestServer;
  let home: string;
  let app: INestApplication;
  let baseUrl: string;
  let queue: Queue;
  let store: ObjectStore;
  let runs: RunsRepository;
  let checkpoints: CheckpointsRepository;

  beforeAll(async () => {
    s3 = await startS3TestServer();
    api = await startTestApi({ env: { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, S3_BUCKET: s3.bucket } });
    ({ app, baseUrl, queue, home } = api);
    store = await createObjectStore(api.config.storage);
    runs = app.get(RunsRepository);
    checkpoints = app.get(CheckpointsRepository);
  });

  afterAll(async () => {
    await api?.stop();
    await s3?.stop();
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function http(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
  }

  function localFolder(files: string[], emptyClasses: string[] = []): string {
    const root = mkdtempSync(join(home, 'folder-'));
    for (const file of files) {
      mkdirSync(join(root, file, '..'), { recursive: true });
      writeFileSync(join(root, file), 'x');
    }
    for (const name of emptyClasses) mkdirSync(join(root, name));
    return root;
  }

  /** A run of `kind` in `status`, with one COMPLETE checkpoint holding `models` when given. */
  async function seedRun(kind: 'PRETRAIN' | 'FINETUNE', status: 'RUNNING' | 'SUCCEEDED', models?: string[]): Promise<string> {
    const id = randomUUID();
    const spec = { kind: kind.toLowerCase(), dataset: { name: 'synthetic-shapes', imageSize: 16 } };
    await runs.create({ id, kind, name: 'seed', spec: spec as never, baseRunId: null });
    await runs.markRunning(id, 'cpu');
    if (models) {
      const checkpoint = await checkpoints.begin({ runId: id, attemptId: null, sequence: 1, epoch: 1, step: 3, uri: `s3://x/${id}/`, models });
      await checkpoints.complete(checkpoint.id, 10, 'f'.repeat(64));
    }
    if (status === 'SUCCEEDED') await runs.finish(id, 'SUCCEEDED');
    return id;
  }

  it('registers a local folder and an S3 prefix with their classes and counts, and lists them', async () => {
    const path = localFolder(['cat/1.png', 'cat/2.jpg', 'dog/1.png', 'dog/README.md']);
    const local = await http('POST', '/v1/datasets', { name: 'pets', location: { kind: 'local', path } });
    expect(local.status).toBe(201);
    expect(local.body).toMatchObject({ id: expect.any(String), name: 'pets', classNames: ['cat', 'dog'], counts: [2, 1], images: 3 });
    expect(local.body.location).toEqual({ kind: 'local', path });

    for (const key of ['sets/flowers/rose/a.png', 'sets/flowers/rose/b.webp', 'sets/flowers/tulip/c.png', 'sets/flowers/iris/d.jpeg']) {
      await store.put(key, Buffer.from('x'));
    }
    const remote = await http('POST', '/v1/datasets', { name: 'flowers', location: { kind: 's3', prefix: 'sets/flowers' } });
    expect(remote.status).toBe(201);
    expect(remote.body).toMatchObject({ classNames: ['iris', 'rose', 'tulip'], counts: [1, 2, 1], uri: `s3://${s3.bucket}/sets/flowers/` });
    expect(remote.body.location).toEqual({ kind: 's3', prefix: 'sets/flowers/' });

    expect((await http('GET', `/v1/datasets/${remote.body.id}`)).body).toMatchObject({ name: 'flowers', images: 4 });
    expect((await http('GET', '/v1/datasets')).body.items.map((d: { name: string }) => d.name)).toEqual(expect.arrayContaining(['pets', 'flowers']));
    expect((await http('GET', `/v1/datasets/${randomUUID()}`)).status).toBe(404);
    expect((await http('POST', '/v1/datasets', { name: 'pets', location: { kind: 'local', path } })).status).toBe(409);
  });

  it('refuses a single class, an empty class and a missing folder with 422 and the reason; a relative path with 400', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ kind: 'local', path: localFolder(['only/1.png']) }, 'location', /single class 'only'/],
      [{ kind: 'local', path: localFolder(['a/1.png'], ['b']) }, 'location', /class 'b' has no images/],
      [{ kind: 'local', path: join(home, 'nope') }, 'location.path', /not a folder/],
      [{ kind: 's3', prefix: 'no/such/prefix/' }, 'location', /no class subfolders/],
    ];
    for (const [location, field, why] of cases) {
      const res = await http('POST', '/v1/datasets', { name: `bad-${randomUUID()}`, location });
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([{ field, message: expect.stringMatching(why) }]);
    }
    const relative = await http('POST', '/v1/datasets', { name: 'rel', location: { kind: 'local', path: 'data/x' } });
    expect(relative.status).toBe(400);
    expect(relative.body.errors[0].field).toBe('location.path');
  });

  it('versions a succeeded run as a model and refuses unfinished runs', async () => {
    const runId = await seedRun('FINETUNE', 'SUCCEEDED', ['classifier']);
    const first = await http('POST', '/v1/models', { name: 'shapes', runId });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name: 'shapes', version: 1, runId, checkpointSequence: 1, models: ['classifier'] });
    expect((await http('POST', '/v1/models', { name: 'shapes', runId })).body.version).toBe(2);
    const versions = await http('GET', '/v1/models/shapes/versions');
    expect(versions.body.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect((await http('GET', '/v1/models/nothing/versions')).status).toBe(404);

    const running = await http('POST', '/v1/models', { name: 'shapes', runId: await seedRun('FINETUNE', 'RUNNING', ['classifier']) });
    expect(running.status).toBe(422);
    expect(running.body.errors).toEqual([{ field: 'runId', message: expect.stringMatching(/is RUNNING/) }]);
    expect((await http('POST', '/v1/models', { name: 'shapes', runId: randomUUID() })).status).toBe(422);
  });

  it('pins a registered base, fills an evaluation with its run dataset, and refuses unknown references', async () => {
    const pretrain = await seedRun('PRETRAIN', 'SUCCEEDED', ['autoencoder', 'encoder']);
    const version = (await http('POST', '/v1/models', { name: 'encoder', runId: pretrain })).body;
    const ft = await http('POST', '/v1/runs', { kind: 'finetune', name: 'ft', dataset: { name: 'synthetic-shapes' }, model: { type: 'classifier', baseModel: { name: 'encoder', version: 1 } } });
    expect(ft.status).toBe(201);
    expect(await runs.get(ft.body.id)).toMatchObject({ baseRunId: pretrain, baseCheckpointId: version.checkpointId });
    const missing = await http('POST', '/v1/runs', { kind: 'finetune', name: 'ft', dataset: { name: 'synthetic-shapes' }, model: { type: 'classifier', baseModel: { name: 'encoder', version: 9 } } });
    expect(missing.body.errors).toEqual([{ field: 'model.baseModel', message: 'No version 9 of model "encoder"' }]);

    const finetuned = await seedRun('FINETUNE', 'SUCCEEDED', ['classifier']);
    const evaluation = await http('POST', '/v1/runs', { kind: 'evaluate', name: 'ev', checkpoint: { runId: finetuned } });
    expect(evaluation.status).toBe(201);
    expect(await runs.get(evaluation.body.id)).toMatchObject({ kind: 'EVALUATE', baseRunId: finetuned, spec: { dataset: { name: 'synthetic-shapes', imageSize: 16 } } });
    expect((await queue.getJob(evaluation.body.id))?.name).toBe('evaluate');
    const refusals: [unknown, string, RegExp][] = [
      [{ runId: pretrain }, 'checkpoint.runId', /PRETRAIN run/],
      [{ runId: await seedRun('FINETUNE', 'RUNNING', ['classifier']) }, 'checkpoint.runId', /is RUNNING/],
      [{ runId: finetuned, sequence: 7 }, 'checkpoint.sequence', /no complete checkpoint #7/],
    ];
    for (const [checkpoint, field, why] of refusals) {
      const res = await http('POST', '/v1/runs', { kind: 'evaluate', name: 'ev', checkpoint });
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([{ field, message: expect.stringMatching(why) }]);
    }
    const unregistered = await http('POST', '/v1/runs', { kind: 'finetune', name: 'f', dataset: { name: 'image-folder', datasetId: randomUUID() } });
    expect(unregistered.body.errors).toEqual([{ field: 'dataset.datasetId', message: expect.stringMatching(/POST \/v1\/datasets/) }]);
  });

  it("serves a run's augmentation sample as a PNG, 404 before it exists", async () => {
    const id = randomUUID();
    expect((await http('GET', `/v1/runs/${id}/augmentation.png`)).status).toBe(404);
    await store.put(augmentationSampleKey(id), Buffer.from('\x89PNG fake'));
    const res = await fetch(`${baseUrl}/v1/runs/${id}/augmentation.png`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
  });
});
