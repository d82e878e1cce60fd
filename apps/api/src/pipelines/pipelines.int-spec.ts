import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { PipelinesRepository, RunsRepository } from '@trainyard/db';
import { startTestApi, type TestApi } from '../testing/test-api';

const shapes = { name: 'synthetic-shapes', imageSize: 16, perClass: 8 };
const encoder = { inputShape: [16, 16, 1], filters: [4], latentDim: 8 };
const pipelineSpec = (name: string) => ({
  name,
  pretrain: { name: `${name}: ae`, dataset: shapes, model: { type: 'conv-autoencoder', ...encoder } },
  finetunes: [
    { name: `${name}: ft a`, dataset: shapes, model: { type: 'classifier', ...encoder } },
    { name: `${name}: ft b`, dataset: shapes, model: { type: 'classifier', ...encoder } },
  ],
  evaluations: [{ split: 'test' }],
});

/**
 * Cancelling pipelines over HTTP against the real PostgreSQL (a fresh database) and Redis (a queue
 * of its own). No worker runs: a step "running" is one marked RUNNING the way a worker marks it.
 */
describe('pipeline cancel (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let app: INestApplication;
  let baseUrl: string;
  let queue: Queue;
  let runs: RunsRepository;
  let pipelines: PipelinesRepository;

  beforeAll(async () => {
    api = await startTestApi();
    ({ app, baseUrl, queue } = api);
    runs = app.get(RunsRepository);
    pipelines = app.get(PipelinesRepository);
  });

  afterAll(async () => {
    await api?.stop();
  });

  // Bodies are asserted field by field below; a type per endpoint would only restate the assertions.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Reply = { status: number; body: any };

  async function http(method: string, path: string, body?: unknown): Promise<Reply> {
    const response = await api.fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  it("records its pretrain's encoder in each fine-tune's spec, and refuses a fine-tune asking for another", async () => {
    const spec = pipelineSpec('encoders');
    spec.pretrain.model = { type: 'conv-autoencoder', ...encoder, latentDim: 12 };
    spec.finetunes[0]!.model = { type: 'classifier', inputShape: [16, 16, 1] } as never;
    spec.finetunes[1]!.model = { type: 'classifier', ...encoder, latentDim: 12 };
    const created = await http('POST', '/v1/pipelines', spec);
    expect(created.status).toBe(201);
    for (const run of created.body.runs.filter((r: { kind: string }) => r.kind === 'FINETUNE')) {
      const stored = await runs.get(run.id);
      expect((stored!.spec as { model: object }).model).toMatchObject({ filters: [4], latentDim: 12 });
    }
    // The pipeline's record says the same, not the defaults the first step's spec was parsed with.
    const pipeline = await http('GET', `/v1/pipelines/${created.body.id}`);
    for (const finetune of pipeline.body.spec.finetunes)
      expect(finetune.model).toMatchObject({ filters: [4], latentDim: 12 });
    spec.finetunes[1]!.model = { type: 'classifier', ...encoder, filters: [8, 8] };
    const refused = await http('POST', '/v1/pipelines', { ...spec, name: 'encoders 2' });
    expect(refused.status).toBe(422);
    expect(refused.body.errors.map((e: { field: string }) => e.field)).toEqual(['finetunes.1.model.filters']);
  });

  /** A submitted pipeline: the pretrain queued (with its job), 2 fine-tunes and 2 evaluations held. */
  async function submit(name: string): Promise<{ id: string; pretrainId: string; runIds: string[] }> {
    const res = await http('POST', '/v1/pipelines', pipelineSpec(name));
    expect(res.status).toBe(201);
    expect(res.body.runs.map((r: { kind: string; held: boolean }) => `${r.kind}${r.held ? ' held' : ''}`)).toEqual([
      'PRETRAIN',
      'FINETUNE held',
      'FINETUNE held',
      'EVALUATE held',
      'EVALUATE held',
    ]);
    const pretrainId = res.body.runs[0].id as string;
    expect(await queue.getJob(pretrainId)).toBeDefined();
    return { id: res.body.id, pretrainId, runIds: res.body.runs.map((r: { id: string }) => r.id) };
  }

  it('cancels a pipeline whose pretrain is queued: every step CANCELLED now, the job removed, the pipeline CANCELLED; twice is the same answer', async () => {
    const { id, pretrainId } = await submit('queued');
    const res = await http('POST', `/v1/pipelines/${id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      status: 'CANCELLED',
      failureReason: expect.stringContaining('cancelled on request'),
      endedAt: expect.any(String),
    });
    expect(res.body.runs).toHaveLength(5);
    for (const run of res.body.runs) {
      expect(run).toMatchObject({ status: 'CANCELLED', held: false, endedAt: expect.any(String) });
      expect(run.failureReason).toContain(`pipeline ${id} CANCELLED: cancelled on request`);
    }
    expect(await queue.getJob(pretrainId)).toBeUndefined();

    const again = await http('POST', `/v1/pipelines/${id}/cancel`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(res.body);
    expect((await http('GET', `/v1/pipelines/${id}`)).body).toEqual(res.body);
    // The advance a worker or the reconciler makes later changes nothing, and releases nothing.
    expect(await pipelines.advance(id)).toEqual({ status: 'CANCELLED', released: [], cancelled: [] });
  });

  it('cancels a pipeline whose pretrain is running: the held steps never start, the pretrain is asked to stop between batches', async () => {
    const { id, pretrainId, runIds } = await submit('running');
    await runs.markRunning(pretrainId, 'cpu'); // as a worker that took the job does

    const res = await http('POST', `/v1/pipelines/${id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('CANCELLED');
    expect(res.body.runs[0]).toMatchObject({ id: pretrainId, status: 'RUNNING', cancelRequested: true });
    expect(await runs.isCancelRequested(pretrainId)).toBe(true);
    expect(res.body.runs.slice(1).map((r: { status: string }) => r.status)).toEqual(Array(4).fill('CANCELLED'));

    // The worker stops the pretrain between batches and advances the pipeline: nothing is released.
    await runs.finish(pretrainId, 'CANCELLED');
    expect(await pipelines.advance(id)).toMatchObject({ status: 'CANCELLED', released: [] });
    for (const runId of runIds.slice(1)) expect(await queue.getJob(runId)).toBeUndefined();
    const after = await http('GET', `/v1/pipelines/${id}`);
    expect(after.body.runs.map((r: { status: string }) => r.status)).toEqual(Array(5).fill('CANCELLED'));
  });

  it('answers 409 for a pipeline that FAILED or SUCCEEDED, recording the outcome its steps had already decided', async () => {
    // The pretrain FAILED and no advance recorded it yet: the cancel does, and does not hide it.
    const failed = await submit('failed');
    await runs.markRunning(failed.pretrainId, 'cpu');
    await runs.finish(failed.pretrainId, 'FAILED', { failureReason: 'out of memory' });
    const res = await http('POST', `/v1/pipelines/${failed.id}/cancel`);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ statusCode: 409, status: 409, error: 'Conflict', pipelineStatus: 'FAILED' });
    expect(res.body.message).toMatch(
      new RegExp(
        `^Pipeline ${failed.id} already FAILED \\(PRETRAIN step "failed: ae" \\(run ${failed.pretrainId}\\) FAILED: out of memory\\); only a RUNNING pipeline can be cancelled$`,
      ),
    );
    const detail = await http('GET', `/v1/pipelines/${failed.id}`);
    expect(detail.body.status).toBe('FAILED');
    expect(detail.body.runs.slice(1).map((r: { status: string }) => r.status)).toEqual(Array(4).fill('CANCELLED'));
    expect((await http('POST', `/v1/pipelines/${failed.id}/cancel`)).status).toBe(409);

    const succeeded = await submit('succeeded');
    for (const runId of succeeded.runIds) {
      await runs.markRunning(runId, 'cpu');
      await runs.finish(runId, 'SUCCEEDED');
    }
    const late = await http('POST', `/v1/pipelines/${succeeded.id}/cancel`);
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({
      pipelineStatus: 'SUCCEEDED',
      message: `Pipeline ${succeeded.id} already SUCCEEDED; only a RUNNING pipeline can be cancelled`,
    });
    expect(
      (await http('GET', `/v1/pipelines/${succeeded.id}`)).body.runs.map((r: { status: string }) => r.status),
    ).toEqual(Array(5).fill('SUCCEEDED'));
  });

  it('answers 404 for an unknown pipeline and 400 naming the id for a malformed one', async () => {
    const unknown = randomUUID();
    const missing = await http('POST', `/v1/pipelines/${unknown}/cancel`);
    expect(missing).toEqual({
      status: 404,
      body: expect.objectContaining({ statusCode: 404, error: 'Not Found', message: `No pipeline with id ${unknown}` }),
    });
    const bad = await http('POST', '/v1/pipelines/12345/cancel');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ message: 'Invalid pipeline id', errors: [{ field: 'id' }] });
  });

  it.each([
    ['pipeline', '/v1/pipelines/05ee2bbe'],
    ['sweep', '/v1/sweeps/94c8d869'],
  ])('a malformed %s id (a short one, as for runs) is said to be that, not a run id', async (what, path) => {
    const bad = await http('GET', path);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ errors: [{ field: 'id', message: `Expected a ${what} id (a UUID)` }] });
  });

  it('a run cancel of a held step ends its pipeline at once, naming the step, and cancels the queued pretrain and its job', async () => {
    const { id, pretrainId, runIds } = await submit('one step');
    const step = runIds[1]!;
    const res = await http('POST', `/v1/runs/${step}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: step, status: 'CANCELLED', held: false });
    expect((await http('GET', `/v1/runs/${step}`)).body).toMatchObject({ status: 'CANCELLED', held: false });

    const pipeline = await http('GET', `/v1/pipelines/${id}`);
    expect(pipeline.body.status).toBe('CANCELLED');
    expect(pipeline.body.runs.map((r: { held: boolean }) => r.held)).toEqual(Array(5).fill(false));
    expect(pipeline.body.failureReason).toBe(`FINETUNE step "one step: ft a" (run ${step}) CANCELLED`);
    expect(pipeline.body.runs.map((r: { status: string }) => r.status)).toEqual(Array(5).fill('CANCELLED'));
    expect(pipeline.body.runs[0].failureReason).toContain(`pipeline ${id} CANCELLED: FINETUNE step "one step: ft a"`);
    expect(await queue.getJob(pretrainId)).toBeUndefined();
  });
});
