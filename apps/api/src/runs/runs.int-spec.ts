import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TrainyardConfig } from '@trainyard/config';
import { RunSpecSchema, SWEEP_RUN_PRIORITY, type RunSpecInput } from '@trainyard/contracts';
import { CheckpointsRepository, MetricsRepository, RunsRepository } from '@trainyard/db';
import { bullmqPriority, type TrainingQueues } from '@trainyard/queue';
import { startTestApi, type TestApi } from '../testing/test-api';
import { REDIS, TRAINING_QUEUES } from '@trainyard/infrastructure';

/**
 * The API over real HTTP against the real PostgreSQL (a fresh database), the real Redis (a queue
 * of its own) and a local object store in a temp dir.
 */
describe('runs API (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let config: TrainyardConfig;
  let app: INestApplication;
  let baseUrl: string;
  let queue: Queue;
  let runs: RunsRepository;
  let checkpoints: CheckpointsRepository;
  let metrics: MetricsRepository;

  beforeAll(async () => {
    // PROJECT_MAX_RUNNING only for the queue view: the API does not enforce it, workers do.
    api = await startTestApi({ env: { REDIS_CONNECT_TIMEOUT_MS: '3000', PROJECT_MAX_RUNNING: '1' }, openApi: true });
    ({ app, baseUrl, queue, config } = api);
    runs = app.get(RunsRepository);
    checkpoints = app.get(CheckpointsRepository);
    metrics = app.get(MetricsRepository);
  });

  afterAll(async () => {
    await api?.stop();
  });

  const pretrain = (name = 'ae'): RunSpecInput => ({ kind: 'pretrain', name, dataset: { name: 'synthetic-shapes' } });
  const finetune = (baseRunId: string | null): RunSpecInput => ({
    kind: 'finetune',
    name: 'ft',
    dataset: { name: 'synthetic-shapes' },
    model: { type: 'classifier', baseRunId },
  });

  // Bodies are asserted field by field below; a type per endpoint would only restate the assertions.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Reply = { status: number; body: any };

  async function http(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const response = await api.fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  /** A pretrain run in the given state, optionally with a COMPLETE checkpoint holding `models`. */
  async function seedBase(
    status: 'RUNNING' | 'SUCCEEDED',
    models?: string[],
    spec: unknown = { kind: 'pretrain' },
  ): Promise<string> {
    const id = randomUUID();
    await runs.create({ id, kind: 'PRETRAIN', name: 'base', spec: spec as never, baseRunId: null });
    await runs.markRunning(id, 'cpu');
    if (models) {
      const checkpoint = await checkpoints.begin({
        runId: id,
        attemptId: null,
        sequence: 1,
        epoch: 1,
        step: 10,
        uri: `file:///x/${id}/`,
        models,
      });
      await checkpoints.complete(checkpoint.id, 100, 'f'.repeat(64));
    }
    if (status === 'SUCCEEDED') await runs.finish(id, 'SUCCEEDED');
    return id;
  }

  it('answers 400 with the field names of a bad spec', async () => {
    const res = await http('POST', '/v1/runs', {
      kind: 'pretrain',
      name: '',
      dataset: { name: 'imagenet' },
      training: { lr: 1 },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', message: 'Invalid run spec' });
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'dataset.name',
      'name',
      'training.lr',
    ]);
  });

  it('answers 400 naming dataset.split.test for holdouts that leave nothing to train on', async () => {
    const res = await http('POST', '/v1/runs', {
      kind: 'finetune',
      name: 'all held out',
      dataset: { name: 'image-folder', datasetId: randomUUID(), split: { validation: 0.5, test: 0.5 } },
    });
    // Was 201, then three attempts failed on a plain Error and the run "gave up after 3 failed attempts".
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { field: 'dataset.split.test', message: 'validation + test must be below 1: the rest is what the run trains on' },
    ]);
  });

  it('records a submitted run QUEUED and enqueues a job with id = run id and data exactly { runId }', async () => {
    const res = await http('POST', '/v1/runs', pretrain());
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), status: 'QUEUED' });
    const row = await runs.get(res.body.id);
    expect(row).toMatchObject({ kind: 'PRETRAIN', status: 'QUEUED', name: 'ae' });
    expect(row!.spec).toMatchObject({ training: { epochs: 5 } });
    const job = await queue.getJob(res.body.id);
    expect(job?.id).toBe(res.body.id);
    expect(job?.name).toBe('pretrain');
    expect(job?.data).toEqual({ runId: res.body.id });
    expect(job?.opts.attempts).toBe(config.worker.maxAttempts);

    const detail = await http('GET', `/v1/runs/${res.body.id}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({
      id: res.body.id,
      status: 'QUEUED',
      attempts: [],
      summaries: [],
      checkpoints: [],
      progress: null,
      result: null,
    });
    expect(detail.body.spec.kind).toBe('pretrain');
  });

  const sweep = (name: string) => ({
    name,
    base: { ...finetune(null), name },
    strategy: 'grid',
    parameters: { 'training.learningRate': [0.001, 0.01, 0.1], 'model.headUnits': [0, 8] },
  });
  /** The run ids of a sweep, by status (GET /v1/sweeps/:id). */
  async function sweepRuns(id: string): Promise<Record<string, string[]>> {
    const { body } = await http('GET', `/v1/sweeps/${id}`);
    const byStatus: Record<string, string[]> = {};
    for (const entry of body.leaderboard) (byStatus[entry.status] ??= []).push(entry.runId);
    return byStatus;
  }

  it('records a sweep’s runs QUEUED and enqueues a job for every one, at the sweep runs’ priority', async () => {
    const res = await http('POST', '/v1/sweeps', sweep('lr x head'));
    expect(res).toEqual({ status: 201, body: { id: expect.any(String), runs: 6 } });
    const { QUEUED: queued, ...others } = await sweepRuns(res.body.id);
    expect(others).toEqual({});
    expect(queued).toHaveLength(6);
    const jobs = await Promise.all(queued!.map((id) => queue.getJob(id)));
    expect(jobs.map((job) => [job?.id, job?.name, job?.data, job?.opts.attempts, job?.opts.priority])).toEqual(
      queued!.map((id) => [
        id,
        'finetune',
        { runId: id },
        config.worker.maxAttempts,
        bullmqPriority(SWEEP_RUN_PRIORITY),
      ]),
    );
  });

  it('gives the same runs again when a sweep’s stored spec is submitted again (PostgreSQL reorders its parameters)', async () => {
    const submitted = {
      ...sweep('random again'),
      strategy: 'random',
      maxRuns: 4,
      seed: 11,
      parameters: { 'training.learningRate': { min: 1e-4, max: 1e-2, log: true }, 'model.dropout': [0, 0.1, 0.2, 0.3] },
    };
    const paramsOf = async (id: string) =>
      ((await http('GET', `/v1/sweeps/${id}`)).body.leaderboard as { name: string; params: object }[])
        .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))
        .map((entry) => entry.params);
    const first = await http('POST', '/v1/sweeps', submitted);
    const stored = (await http('GET', `/v1/sweeps/${first.body.id}`)).body.spec;
    expect(Object.keys(stored.parameters)).toEqual(['model.dropout', 'training.learningRate']);
    const again = await http('POST', '/v1/sweeps', { ...stored, name: 'random again, resubmitted' });
    expect(again.status).toBe(201);
    expect(await paramsOf(again.body.id)).toEqual(await paramsOf(first.body.id));
    await http('POST', `/v1/sweeps/${first.body.id}/cancel`);
    await http('POST', `/v1/sweeps/${again.body.id}/cancel`);
  });

  it('cancels a sweep: waiting runs at once with their jobs removed, a running one between batches, an ended one kept', async () => {
    const { body } = await http('POST', '/v1/sweeps', sweep('to cancel'));
    const [running, ended, ...waiting] = (await sweepRuns(body.id))['QUEUED']!;
    await runs.markRunning(running!, 'cpu');
    await runs.markRunning(ended!, 'cpu');
    await runs.finish(ended!, 'SUCCEEDED');

    const cancelled = await http('POST', `/v1/sweeps/${body.id}/cancel`);
    expect(cancelled).toMatchObject({
      status: 200,
      body: { id: body.id, counts: { CANCELLED: 4, RUNNING: 1, SUCCEEDED: 1 } },
    });
    for (const id of waiting) {
      expect(await runs.get(id)).toMatchObject({ status: 'CANCELLED', endedAt: expect.any(Date) });
      expect(await queue.getJob(id)).toBeUndefined();
    }
    expect(await runs.get(running!)).toMatchObject({ status: 'RUNNING', cancelRequested: true });
    expect(await runs.get(ended!)).toMatchObject({ status: 'SUCCEEDED', cancelRequested: false });

    // Again: nothing left to change, the same answer.
    expect(await http('POST', `/v1/sweeps/${body.id}/cancel`)).toEqual(cancelled);
    expect(await http('POST', `/v1/sweeps/${randomUUID()}/cancel`)).toMatchObject({ status: 404 });
    for (const id of ['not-a-uuid', '__proto__', 'constructor', '%00%0a', `${body.id}%0d%0a`])
      expect(await http('POST', `/v1/sweeps/${id}/cancel`)).toMatchObject({
        status: 400,
        body: { errors: [{ field: 'id' }] },
      });
  });

  it('says where a run waits: jobs ahead of it in its class, how many live workers serve it, its project against its limit', async () => {
    const ids: string[] = [];
    for (const name of ['first', 'second', 'third']) ids.push((await http('POST', '/v1/runs', pretrain(name))).body.id);
    const gpu = (await http('POST', '/v1/runs', { ...pretrain('on a gpu'), resources: { accelerator: 'gpu' } })).body
      .id;
    // Earlier tests' runs may wait in the same queue: positions are relative to the first of ours.
    const [first, second, third] = await Promise.all(ids.map((id) => http('GET', `/v1/runs/${id}/queue`)));
    expect(first).toMatchObject({
      status: 200,
      body: {
        runId: ids[0],
        status: 'QUEUED',
        resourceClass: 'any',
        queue: api.queueName,
        jobState: 'prioritized',
        servingWorkers: 0,
        drainingWorkers: 0,
      },
    });
    expect([second!.body.ahead - first!.body.ahead, third!.body.ahead - first!.body.ahead]).toEqual([1, 2]);
    // Its project's runs training now, against PROJECT_MAX_RUNNING: one more once one trains.
    const { running } = first!.body.projectLimit;
    expect(first!.body.projectLimit).toEqual({
      project: 'default',
      running: expect.any(Number),
      limit: 1,
      source: 'default',
    });
    const training = (await http('POST', '/v1/runs', pretrain('training'))).body.id;
    await runs.markRunning(training, 'wasm');
    expect((await http('GET', `/v1/runs/${ids[0]}/queue`)).body.projectLimit).toEqual({
      project: 'default',
      running: running + 1,
      limit: 1,
      source: 'default',
    });
    await runs.finish(training, 'CANCELLED');
    await queue.remove(training);
    // Parked by a worker that found its project at the limit: delayed, and recorded for its project.
    const parked = (await http('POST', '/v1/runs', pretrain('parked'))).body.id;
    await queue.remove(parked);
    await queue.add('pretrain', { runId: parked }, { jobId: parked, priority: bullmqPriority(0), delay: 600_000 });
    await app.get<TrainingQueues>(TRAINING_QUEUES).park(parked, 'default', bullmqPriority(0), Date.now());
    expect((await http('GET', `/v1/runs/${parked}/queue`)).body).toMatchObject({
      jobState: 'delayed',
      ahead: null,
      parked: true,
    });
    expect(first!.body.parked).toBe(false);
    await http('POST', `/v1/runs/${parked}/cancel`);
    expect((await http('GET', `/v1/runs/${gpu}/queue`)).body).toMatchObject({
      resourceClass: 'gpu',
      queue: `${api.queueName}-gpu`,
      ahead: 0,
    });
    // Cancelled: out of the queue, its job removed.
    await http('POST', `/v1/runs/${ids[1]}/cancel`);
    expect((await http('GET', `/v1/runs/${ids[1]}/queue`)).body).toMatchObject({
      status: 'CANCELLED',
      jobState: null,
      ahead: null,
    });
    expect((await http('GET', `/v1/runs/${ids[2]}/queue`)).body.ahead).toBe(first!.body.ahead + 1);
    expect(await http('GET', `/v1/runs/${randomUUID()}/queue`)).toMatchObject({ status: 404 });
    // Hostile ids are refused before anything is looked up, naming the parameter.
    for (const id of ['__proto__', 'constructor', '%00%0a', `${ids[0]}%0d%0a`, 'x'.repeat(5000)])
      expect(await http('GET', `/v1/runs/${id}/queue`)).toMatchObject({
        status: 400,
        body: { errors: [{ field: 'id' }] },
      });
  });

  it('answers 404 for an unknown run and 400 for a malformed id', async () => {
    for (const path of ['', '/metrics', '/checkpoints']) {
      const res = await http('GET', `/v1/runs/${randomUUID()}${path}`);
      expect(res.status).toBe(404);
    }
    expect((await http('POST', `/v1/runs/${randomUUID()}/cancel`)).status).toBe(404);
    const bad = await http('GET', '/v1/runs/12345');
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ field: 'id', message: expect.any(String) }]);
  });

  it('answers 422 naming model.baseRunId for a missing, unfinished or encoder-less base', async () => {
    const cases: [string, RegExp][] = [
      [randomUUID(), /No run with id/],
      [await seedBase('RUNNING', ['autoencoder', 'encoder']), /is RUNNING/],
      [await seedBase('SUCCEEDED'), /no complete checkpoint/],
      [await seedBase('SUCCEEDED', ['classifier']), /holds no encoder/],
    ];
    for (const [baseRunId, why] of cases) {
      const res = await http('POST', '/v1/runs', finetune(baseRunId));
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([{ field: 'model.baseRunId', message: expect.stringMatching(why) }]);
    }
    const finetuneRun = (await http('POST', '/v1/runs', finetune(null))).body.id as string;
    const notPretrain = await http('POST', '/v1/runs', finetune(finetuneRun));
    expect(notPretrain.body.errors[0].message).toMatch(/FINETUNE run/);
  });

  it('answers 422 naming model.baseRunId for a base pretrained on images of another shape than the dataset’s', async () => {
    const small = { name: 'synthetic-shapes', imageSize: 8 };
    const stored = RunSpecSchema.parse({ kind: 'pretrain', name: 'ae', dataset: small });
    const base = await seedBase('SUCCEEDED', ['autoencoder', 'encoder'], stored);
    const res = await http('POST', '/v1/runs', finetune(base)); // the shapes' 16×16 by default
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      {
        field: 'model.baseRunId',
        message: expect.stringContaining(
          `Run ${base}'s encoder takes images of 8×8×1 but this run's dataset gives 16×16×1`,
        ),
      },
    ]);
    expect((await http('POST', '/v1/runs', { ...finetune(base), dataset: small })).status).toBe(201);
  });

  it('accepts a fine-tune from a succeeded pretrain run with an encoder checkpoint', async () => {
    const base = await seedBase('SUCCEEDED', ['autoencoder', 'encoder']);
    const res = await http('POST', '/v1/runs', finetune(base));
    expect(res.status).toBe(201);
    expect(await runs.get(res.body.id)).toMatchObject({ kind: 'FINETUNE', baseRunId: base });
    expect((await queue.getJob(res.body.id))?.name).toBe('finetune');
  });

  it('lists runs with filters, sorts and a cursor that walks every page once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await http('POST', '/v1/runs', pretrain(`list-${i}`))).body.id);

    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Reply = await http(
        'GET',
        `/v1/runs?kind=pretrain&status=QUEUED&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      for (const item of page.body.items) {
        expect(item).toMatchObject({ kind: 'PRETRAIN', status: 'QUEUED' });
        expect(item.spec).toBeUndefined();
      }
      all.push(...page.body.items.map((item: { id: string }) => item.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual(expect.arrayContaining(ids));
    // Newest first by default: the five just submitted come in reverse order of submission.
    const positions = ids.map((id) => all.indexOf(id));
    expect([...positions].sort((a, b) => b - a)).toEqual(positions);

    const asc = await http('GET', '/v1/runs?kind=PRETRAIN&order=asc&limit=200');
    const ascIds = asc.body.items.map((item: { id: string }) => item.id).filter((id: string) => ids.includes(id));
    expect(ascIds).toEqual(ids);

    await metrics.write(ids[0]!, null, [{ name: 'val_accuracy', step: 1, epoch: 1, value: 0.4, wallTime: new Date() }]);
    await metrics.write(ids[1]!, null, [{ name: 'val_accuracy', step: 1, epoch: 1, value: 0.9, wallTime: new Date() }]);
    const byMetric = await http('GET', '/v1/runs?sort=metric:val_accuracy:best&limit=3');
    expect(byMetric.status).toBe(200);
    expect(byMetric.body.items.slice(0, 2).map((item: { id: string }) => item.id)).toEqual([ids[1], ids[0]]);
    expect(byMetric.body.items[0].summaries).toEqual([expect.objectContaining({ name: 'val_accuracy', best: 0.9 })]);

    const points = await http('GET', `/v1/runs/${ids[0]}/metrics?name=val_accuracy`);
    expect(points.body).toEqual({
      runId: ids[0],
      points: [expect.objectContaining({ name: 'val_accuracy', step: 1, value: 0.4 })],
    });
    expect((await http('GET', `/v1/runs/${ids[0]}/checkpoints`)).body).toEqual({ runId: ids[0], checkpoints: [] });
  });

  it('finds runs by a prefix of their id (idPrefix), in either case, archived ones too when asked', async () => {
    // Ids of our own choosing that share a random prefix, so no other run of the suite matches.
    const base = randomUUID().replace(/-/g, '').slice(0, 6);
    const uuid = (hex: string) =>
      `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    const [a, b, c] = ['00', '01', 'ff'].map((two) => uuid(`${base}${two}${'a'.repeat(24)}`)) as [
      string,
      string,
      string,
    ];
    for (const id of [a, b, c])
      await runs.create({ id, kind: 'PRETRAIN', name: 'p', spec: {} as never, baseRunId: null });
    expect((await http('POST', `/v1/runs/${c}/archive`)).status).toBe(200);
    const found = async (query: string) =>
      ((await http('GET', `/v1/runs?${query}`)).body.items as { id: string }[]).map((r) => r.id).sort();
    expect(await found(`idPrefix=${base}`)).toEqual([a, b]);
    expect(await found(`idPrefix=${base}&archived=any`)).toEqual([a, b, c]);
    expect(await found(`idPrefix=${base}01`)).toEqual([b]);
    expect(await found(`idPrefix=${base.toUpperCase()}0`)).toEqual([a, b]);
    // All 32 digits: the one run; the last digit is inclusive at both ends of the range.
    expect(await found(`idPrefix=${a.replace(/-/g, '')}`)).toEqual([a]);
    expect(await found(`idPrefix=${c.replace(/-/g, '')}&archived=any`)).toEqual([c]);
    expect(await found(`idPrefix=${base}02`)).toEqual([]);
  });

  it('refuses a hostile idPrefix with 400 naming it, and answers as before afterwards', async () => {
    for (const value of [
      '%25', // a LIKE wildcard, sent as itself
      '____',
      'abcd%25',
      'abc', // shorter than RUN_ID_PREFIX_MIN
      'abcdefg', // not hex
      encodeURIComponent('ａｂｃｄ'), // fullwidth letters
      encodeURIComponent('١٢٣٤'), // Arabic-Indic digits
      encodeURIComponent('abcd\u0000'),
      'a'.repeat(33),
      'a'.repeat(1000),
      '',
      'abcd-ef01',
    ]) {
      const res = await http('GET', `/v1/runs?idPrefix=${value}`);
      expect([value, res.status]).toEqual([value, 400]);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['idPrefix']);
    }
    // Given twice, or as an object or array in bracket syntax: refused, never read as a prefix.
    for (const query of ['idPrefix=abcd&idPrefix=abce', 'idPrefix[__proto__]=abcd', 'idPrefix[]=abcd']) {
      const res = await http('GET', `/v1/runs?${query}`);
      expect([query, res.status]).toEqual([query, 400]);
    }
    for (const key of ['__proto__', 'constructor', 'prototype', '__proto__[idPrefix]']) {
      const res = await http('GET', `/v1/runs?${key}=abcd`);
      expect([key, res.status]).toEqual([key, 400]);
    }
    const after = await http('GET', '/v1/runs?limit=1');
    expect(after.status).toBe(200);
    expect(({} as Record<string, unknown>)['idPrefix']).toBeUndefined();
  });

  it('answers 400 naming the query parameter that is wrong', async () => {
    for (const [query, field] of [
      ['limit=500', 'limit'],
      ['sort=metric:loss', 'sort'],
      ['status=DONE', 'status'],
      ['order=sideways', 'order'],
      ['cursor=garbage', 'cursor'],
    ]) {
      const res = await http('GET', `/v1/runs?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    }
  });

  it('cancels a queued run at once and removes its job', async () => {
    const { id } = (await http('POST', '/v1/runs', pretrain('to-cancel'))).body;
    expect(await queue.getJob(id)).toBeDefined();
    const res = await http('POST', `/v1/runs/${id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, status: 'CANCELLED' });
    expect((await runs.get(id))!.status).toBe('CANCELLED');
    expect(await queue.getJob(id)).toBeUndefined();
    // Cancelling again leaves the finished run as it is.
    expect((await http('POST', `/v1/runs/${id}/cancel`)).body.status).toBe('CANCELLED');
  });

  it('only flags a running run for its worker', async () => {
    const { id } = (await http('POST', '/v1/runs', pretrain('running'))).body;
    await runs.markRunning(id, 'cpu');
    const res = await http('POST', `/v1/runs/${id}/cancel`);
    expect(res.body).toMatchObject({ status: 'RUNNING', cancelRequested: true });
  });

  it('reports liveness and readiness of Redis, the database and the object store', async () => {
    expect(await http('GET', '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    const ready = await http('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'ok',
      checks: { redis: { ok: true }, database: { ok: true }, objectStore: { ok: true } },
    });
  });

  it('serves the OpenAPI document with the run, pipeline and sweep spec schemas from zod', async () => {
    const doc = await http('GET', '/docs-json');
    expect(doc.status).toBe(200);
    const schemas = doc.body.components.schemas;
    expect(schemas.RunSpec.oneOf).toHaveLength(3);
    expect(schemas.PretrainSpec.properties.dataset).toBeDefined();
    expect(schemas.FinetuneSpec.properties.model.properties.baseRunId).toBeDefined();
    expect(doc.body.paths['/v1/runs'].post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/RunSpec',
    });

    // Pipelines and sweeps document their bodies and answers from zod too.
    const body = (path: string) => doc.body.paths[path].post.requestBody?.content['application/json'].schema;
    const answer = (path: string, method: string, status: number) =>
      doc.body.paths[path][method].responses[status]?.content?.['application/json'].schema;
    expect(body('/v1/pipelines')).toEqual({ $ref: '#/components/schemas/PipelineSpec' });
    expect(body('/v1/sweeps')).toEqual({ $ref: '#/components/schemas/SweepSpec' });
    expect(schemas.PipelineSpec.required).toEqual(['name', 'pretrain', 'finetunes']);
    expect(schemas.PipelineSpec.properties.pretrain.properties.training).toBeDefined();
    // A step's kind is implied by where it sits: not required.
    expect(schemas.PipelineSpec.properties.pretrain.required).not.toContain('kind');
    expect(schemas.PipelineSpec.properties.finetunes.items.required).not.toContain('kind');
    expect(schemas.PipelineSpec.properties.evaluations.items.properties.split.enum).toEqual(
      expect.arrayContaining(['test']),
    );
    expect(schemas.SweepSpec.required).toEqual(['name', 'base', 'strategy', 'parameters']);
    expect(schemas.SweepSpec.properties.base.required).not.toContain('kind');
    expect(Object.keys(schemas.SweepSpec.properties.parameters.properties)).toContain('training.learningRate');
    expect(schemas.SweepSpec.properties.parameters.additionalProperties).toBe(false);
    expect(answer('/v1/pipelines', 'post', 201)).toEqual({ $ref: '#/components/schemas/PipelineView' });
    expect(answer('/v1/pipelines', 'post', 400)).toEqual({ $ref: '#/components/schemas/ProblemDetails' });
    expect(answer('/v1/pipelines/{id}', 'get', 200)).toEqual({ $ref: '#/components/schemas/PipelineView' });
    expect(answer('/v1/pipelines/{id}/cancel', 'post', 200)).toEqual({ $ref: '#/components/schemas/PipelineView' });
    expect(doc.body.paths['/v1/pipelines/{id}/cancel'].post.responses[409]).toBeDefined();
    expect(answer('/v1/sweeps', 'post', 201)).toEqual({ $ref: '#/components/schemas/SweepCreated' });
    expect(answer('/v1/sweeps', 'post', 400)).toEqual({ $ref: '#/components/schemas/ProblemDetails' });
    expect(answer('/v1/sweeps/{id}', 'get', 200)).toEqual({ $ref: '#/components/schemas/SweepView' });
    // Answers are documented from the response contracts (libs/contracts/src/http), strict as they are.
    expect(answer('/v1/runs/{id}', 'get', 200)).toEqual({ $ref: '#/components/schemas/RunDetailView' });
    expect(answer('/v1/runs', 'get', 200)).toEqual({ $ref: '#/components/schemas/RunListPage' });
    expect(schemas.RunListPage.properties.items.items).toEqual({ $ref: '#/components/schemas/RunListItemView' });
    expect(schemas.RunView).toMatchObject({
      additionalProperties: false,
      properties: { createdAt: { type: 'string', format: 'date-time' } },
    });
    expect(schemas.RunListItemView.properties.spec).toBeUndefined();
    // The list's filters, idPrefix (what `trainyard show <short id>` asks for) among them.
    const listParams = (doc.body.paths['/v1/runs'].get.parameters as { name: string; schema?: unknown }[]).map(
      (p) => p.name,
    );
    expect(listParams).toEqual(
      expect.arrayContaining([
        'status',
        'kind',
        'q',
        'idPrefix',
        'tag',
        'archived',
        'sort',
        'order',
        'limit',
        'cursor',
      ]),
    );
    expect(
      (doc.body.paths['/v1/runs'].get.parameters as { name: string; schema?: unknown }[]).find(
        (p) => p.name === 'idPrefix',
      )?.schema,
    ).toMatchObject({ type: 'string', pattern: '^[0-9a-f]{4,32}$', minLength: 4, maxLength: 32 });
    // The catalog lists are keyset pages, the datasets list among them.
    expect(answer('/v1/datasets', 'get', 200)).toEqual({ $ref: '#/components/schemas/DatasetList' });
    expect((doc.body.paths['/v1/datasets'].get.parameters as { name: string }[]).map((p) => p.name)).toEqual(
      expect.arrayContaining(['limit', 'cursor']),
    );
    // Every $ref in the document resolves.
    for (const [, name] of JSON.stringify(doc.body).matchAll(/"#\/components\/schemas\/([^"]+)"/g))
      expect(Object.keys(schemas)).toContain(name);
    const ui = await api.fetch(`${baseUrl}/docs`);
    expect(ui.status).toBe(200);
  });

  // Last: it cuts this app's Redis connection for good.
  it('marks a run, or every run of a sweep, FAILED and answers 503 when their jobs cannot be enqueued; /readyz names Redis', async () => {
    app.get<Redis>(REDIS).disconnect();
    const res = await http('POST', '/v1/runs', pretrain('no-redis'));
    expect(res.status).toBe(503);
    expect(res.body.runId).toEqual(expect.any(String));
    const row = await runs.get(res.body.runId);
    expect(row).toMatchObject({ status: 'FAILED', failureReason: expect.stringMatching(/Could not enqueue/) });

    // With an Idempotency-Key, a replay of a submit that could not be queued answers the same 503
    // for the same run, not a stored "QUEUED".
    const key = { 'idempotency-key': `no-redis-${randomUUID()}` };
    const first = await http('POST', '/v1/runs', pretrain('no-redis, keyed'), key);
    const replay = await http('POST', '/v1/runs', pretrain('no-redis, keyed'), key);
    expect(first).toMatchObject({ status: 503, body: { runId: expect.any(String) } });
    expect(replay).toMatchObject({ status: 503, body: { runId: first.body.runId, reason: first.body.reason } });

    // A sweep's runs are enqueued together and fail together: all FAILED with the reason, none
    // left QUEUED without a job, and the 503 says how many.
    const failedSweep = await http('POST', '/v1/sweeps', sweep('no-redis sweep'));
    expect(failedSweep).toMatchObject({
      status: 503,
      body: {
        sweepId: expect.any(String),
        failedRuns: 6,
        runs: 6,
        reason: expect.stringMatching(/^Could not enqueue the run: /),
      },
    });
    expect(failedSweep.body.message).toMatch(
      new RegExp(`^6 of the 6 runs of sweep ${failedSweep.body.sweepId} were recorded but could not be queued`),
    );
    const { FAILED: failed, ...others } = await sweepRuns(failedSweep.body.sweepId);
    expect(others).toEqual({});
    expect(failed).toHaveLength(6);
    for (const id of failed!) {
      expect(await runs.get(id)).toMatchObject({ failureReason: failedSweep.body.reason });
      expect(await queue.getJob(id)).toBeUndefined();
    }

    const ready = await http('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.message).toBe('Not ready: redis failed');
    expect(ready.body.checks).toMatchObject({
      redis: { ok: false },
      database: { ok: true },
      objectStore: { ok: true },
    });
  });
});
