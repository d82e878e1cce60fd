/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies of many shapes; the assertions check them */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectKey as keyFor, requestAs } from '../testing/keyed-requests';
import { succeededRun } from '../testing/succeeded-run';
import { startTestApi, type TestApi } from '../testing/test-api';
import { tinySpecs } from '../testing/tiny-specs';

/**
 * Projects: a key confined to one project can neither read nor change another's runs, datasets,
 * models, pipelines or sweeps — every such id answers exactly like an unknown one — and cannot
 * build on them. Keys without a project (operators) see every project.
 */
describe('projects (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let a: string;
  let b: string;
  const { pretrain, finetune, encoder } = tinySpecs({ testPerClass: 2 });

  const call = (key: string, method: string, path: string, body?: unknown) => requestAs(api, key, method, path, body);
  const projectKey = (project: string) => keyFor(api, project);

  /** A SUCCEEDED run of `project` with a COMPLETE checkpoint holding `models`, as a worker leaves it. */
  const finishedRun = (project: string, kind: 'PRETRAIN' | 'FINETUNE', models: string[]) =>
    succeededRun(api.app, { project, kind, spec: kind === 'PRETRAIN' ? pretrain('seed') : finetune('seed'), models });

  beforeAll(async () => {
    api = await startTestApi();
    // An image folder under the local store, registered as an S3-style prefix of it.
    for (const file of [
      'sets/pets/cat/1.png',
      'sets/pets/dog/1.png',
      'sets/pets-b/cat/1.png',
      'sets/pets-b/dog/1.png',
      'sets/race/cat/1.png',
      'sets/race/dog/1.png',
    ]) {
      const path = join(api.home, 'objects', file);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, 'x');
    }
    a = await projectKey('team-a');
    b = await projectKey('team-b');
  });
  afterAll(() => api?.stop());

  it("keeps runs apart: another project's run is a 404 on every run route, and absent from lists and compare", async () => {
    const { body: run } = await call(a, 'POST', '/v1/runs', pretrain('a secret run'));
    const routes = [
      '',
      '/checkpoints',
      '/queue',
      '/metrics',
      '/series',
      '/events',
      '/checkpoints/1/files',
      '/checkpoints/1/download?file=model.json',
      '/augmentation.png',
      '/logs',
      '/logs?follow=true',
    ];
    for (const suffix of routes) {
      const theirs = await call(b, 'GET', `/v1/runs/${run.id}${suffix}`);
      expect({ suffix, status: theirs.status }).toEqual({ suffix, status: 404 });
      expect(JSON.stringify(theirs.body)).not.toContain('a secret run');
    }
    expect((await call(b, 'POST', `/v1/runs/${run.id}/cancel`)).status).toBe(404);
    expect((await call(b, 'PATCH', `/v1/runs/${run.id}`, { name: 'mine now', tags: ['stolen'] })).status).toBe(404);
    for (const action of ['archive', 'unarchive'])
      expect((await call(b, 'POST', `/v1/runs/${run.id}/${action}`)).status).toBe(404);
    for (const query of ['?dryRun=true', ''])
      expect((await call(b, 'DELETE', `/v1/runs/${run.id}${query}`)).status).toBe(404);
    expect((await call(a, 'GET', `/v1/runs/${run.id}`)).body).toMatchObject({
      name: 'a secret run',
      tags: [],
      archivedAt: null,
    });
    expect((await call(a, 'GET', `/v1/runs/${run.id}`)).body.status).toBe('QUEUED');
    expect((await call(b, 'GET', `/v1/runs/compare?ids=${run.id}`)).status).toBe(404);
    expect((await call(a, 'GET', `/v1/runs/compare?ids=${run.id}`)).status).toBe(200);
    const theirList = await call(b, 'GET', '/v1/runs');
    expect(theirList.body.items.map((r: { id: string }) => r.id)).not.toContain(run.id);
    expect((await call(a, 'GET', '/v1/runs')).body.items.map((r: { id: string }) => r.id)).toContain(run.id);
    // An operator's key (no project) sees every project.
    expect((await call(api.adminKey, 'GET', `/v1/runs/${run.id}`)).status).toBe(200);
  });

  it("does not build on another project's runs, models or datasets", async () => {
    const base = await finishedRun('team-a', 'PRETRAIN', ['autoencoder', 'encoder']);
    const tuned = await finishedRun('team-a', 'FINETUNE', ['classifier']);
    const fromTheirs = await call(
      b,
      'POST',
      '/v1/runs',
      finetune('steal', { model: { type: 'classifier', baseRunId: base, ...encoder } }),
    );
    expect(fromTheirs.status).toBe(422);
    expect(fromTheirs.body.errors[0]).toMatchObject({ field: 'model.baseRunId', message: `No run with id ${base}` });
    expect(
      (
        await call(
          a,
          'POST',
          '/v1/runs',
          finetune('mine', { model: { type: 'classifier', baseRunId: base, ...encoder } }),
        )
      ).status,
    ).toBe(201);
    const evaluate = { kind: 'evaluate', name: 'peek', checkpoint: { runId: tuned } };
    expect((await call(b, 'POST', '/v1/runs', evaluate)).body.errors[0]).toMatchObject({
      field: 'checkpoint.runId',
      message: `No run with id ${tuned}`,
    });
    expect((await call(a, 'POST', '/v1/runs', evaluate)).status).toBe(201);

    // Models: names are per project; another project's run cannot be registered.
    expect((await call(b, 'POST', '/v1/models', { name: 'digits', runId: tuned })).status).toBe(422);
    expect((await call(a, 'POST', '/v1/models', { name: 'digits', runId: tuned })).body).toMatchObject({
      name: 'digits',
      version: 1,
    });
    expect((await call(b, 'GET', '/v1/models/digits/versions')).status).toBe(404);
    expect((await call(a, 'GET', '/v1/models/digits/versions')).body.versions).toHaveLength(1);
    // Naming its own project changes nothing; naming another is the same 404 as an unknown name.
    expect((await call(a, 'GET', '/v1/models/digits/versions?project=team-a')).status).toBe(200);
    expect((await call(b, 'GET', '/v1/models/digits/versions?project=team-a')).status).toBe(404);
    // An operator's key reads any project's versions (the list shows every project's models), and
    // registers any run, as a version of the run's own project.
    expect((await call(api.adminKey, 'GET', '/v1/models/digits/versions')).status).toBe(404);
    const operatorReads = await call(api.adminKey, 'GET', '/v1/models/digits/versions?project=team-a');
    expect(operatorReads.status).toBe(200);
    expect(operatorReads.body.versions).toHaveLength(1);
    expect((await call(api.adminKey, 'GET', '/v1/models/digits/versions?project=..%2Fteam-a')).status).toBe(400);
    const operatorRegisters = await call(api.adminKey, 'POST', '/v1/models', { name: 'digits', runId: tuned });
    expect(operatorRegisters.status).toBe(201);
    expect(operatorRegisters.body).toMatchObject({ name: 'digits', version: 2, project: 'team-a' });
    expect((await call(a, 'GET', '/v1/models/digits/versions')).body.versions).toHaveLength(2);
    const viaModel = await call(
      b,
      'POST',
      '/v1/runs',
      finetune('via model', { model: { type: 'classifier', baseModel: { name: 'digits', version: 1 }, ...encoder } }),
    );
    expect(viaModel.status).toBe(422);

    // In a sweep's base or a pipeline's step, the refusal names the field where it sits.
    const theirBase = { model: { type: 'classifier', baseRunId: base, ...encoder } };
    const sweep = await call(b, 'POST', '/v1/sweeps', {
      name: 'steal',
      base: finetune('steal', theirBase),
      strategy: 'grid',
      parameters: { 'training.learningRate': [0.001, 0.01] },
    });
    expect(sweep.status).toBe(422);
    expect(sweep.body.errors.map((e: any) => e.field)).toEqual(['base.model.baseRunId']);
    const pipeline = await call(b, 'POST', '/v1/pipelines', {
      name: 'steal',
      pretrain: pretrain('p pretrain'),
      finetunes: [
        finetune('ok'),
        finetune('steal', { dataset: { name: 'image-folder', datasetId: base, imageShape: [16, 16, 1] } }),
      ],
    });
    expect(pipeline.status).toBe(422);
    expect(pipeline.body.errors.map((e: any) => e.field)).toEqual(['finetunes.1.dataset.datasetId']);
  });

  it("keeps datasets apart: names per project, another project's dataset unseen and unusable", async () => {
    const mine = await call(a, 'POST', '/v1/datasets', { name: 'pets', location: { kind: 's3', prefix: 'sets/pets' } });
    expect(mine.status).toBe(201);
    // Nor can another project register that folder, a folder in it, or one holding it (which would
    // list it as a class), and the refusal lists nothing.
    for (const prefix of ['sets/pets', 'sets/pets/', 'sets/pets/cat', 'sets']) {
      const taken = await call(b, 'POST', '/v1/datasets', { name: 'theirs', location: { kind: 's3', prefix } });
      expect({ prefix, status: taken.status, field: taken.body.errors?.[0]?.field }).toEqual({
        prefix,
        status: 409,
        field: 'location.prefix',
      });
      expect(JSON.stringify(taken.body)).not.toMatch(/\bcat\b|\bdog\b/);
    }
    // The same name in another project is its own dataset, of a folder of its own (a sibling is another folder).
    expect(
      (await call(b, 'POST', '/v1/datasets', { name: 'pets', location: { kind: 's3', prefix: 'sets/pets-b' } })).status,
    ).toBe(201);
    // A project may register its own folder again, under another name.
    expect(
      (await call(a, 'POST', '/v1/datasets', { name: 'pets-again', location: { kind: 's3', prefix: 'sets/pets' } }))
        .status,
    ).toBe(201);
    expect(
      (await call(a, 'POST', '/v1/datasets', { name: 'pets', location: { kind: 's3', prefix: 'sets/pets' } })).status,
    ).toBe(409);
    expect((await call(b, 'GET', `/v1/datasets/${mine.body.id}`)).status).toBe(404);
    expect((await call(b, 'GET', '/v1/datasets')).body.items.map((d: { id: string }) => d.id)).not.toContain(
      mine.body.id,
    );
    const imageFolder = { name: 'image-folder', datasetId: mine.body.id, imageShape: [16, 16, 1] };
    const theirs = await call(b, 'POST', '/v1/runs', finetune('their folder', { dataset: imageFolder }));
    expect(theirs.status).toBe(422);
    expect(theirs.body.errors[0].field).toBe('dataset.datasetId');
  });

  it('lets one project only register a folder two projects race for', async () => {
    const register = (key: string, i: number) =>
      call(key, 'POST', '/v1/datasets', { name: `race-${i}`, location: { kind: 's3', prefix: 'sets/race' } });
    const replies = await Promise.all([0, 1, 2, 3, 4].flatMap((i) => [register(a, i), register(b, i)]));
    const statuses = replies.map((reply) => reply.status);
    expect(new Set(statuses)).toEqual(new Set([201, 409]));
    const winners = new Set(replies.filter((reply) => reply.status === 201).map((reply) => reply.body.project));
    expect(winners.size).toBe(1);
    expect(statuses.filter((status) => status === 201)).toHaveLength(5);
  });

  it('keeps pipelines and sweeps apart', async () => {
    const pipeline = await call(a, 'POST', '/v1/pipelines', {
      name: 'p',
      pretrain: pretrain('p pretrain'),
      finetunes: [finetune('p finetune')],
    });
    expect(pipeline.status).toBe(201);
    expect((await call(b, 'GET', `/v1/pipelines/${pipeline.body.id}`)).status).toBe(404);
    expect((await call(b, 'POST', `/v1/pipelines/${pipeline.body.id}/cancel`)).status).toBe(404);
    expect((await call(a, 'GET', `/v1/pipelines/${pipeline.body.id}`)).status).toBe(200);
    // Every run the pipeline made is in its project.
    for (const run of pipeline.body.runs) expect((await call(b, 'GET', `/v1/runs/${run.id}`)).status).toBe(404);

    const sweep = await call(a, 'POST', '/v1/sweeps', {
      name: 's',
      base: finetune('s'),
      strategy: 'grid',
      parameters: { 'training.learningRate': [0.001, 0.01] },
      maxRuns: 2,
      seed: 1,
      metric: 'test/accuracy',
      goal: 'max',
    });
    expect(sweep.status).toBe(201);
    expect((await call(b, 'GET', `/v1/sweeps/${sweep.body.id}`)).status).toBe(404);
    // Another project cannot cancel it either: 404, and its runs are untouched.
    expect((await call(b, 'POST', `/v1/sweeps/${sweep.body.id}/cancel`)).status).toBe(404);
    const mine = await call(a, 'GET', `/v1/sweeps/${sweep.body.id}`);
    expect(mine.body.leaderboard).toHaveLength(2);
    expect(mine.body.counts).toEqual({ QUEUED: 2 });
  });

  it('scopes Idempotency-Keys to the project: the same key in two projects makes two runs', async () => {
    const headers = (key: string) => ({
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'idempotency-key': 'nightly-1',
    });
    const post = async (key: string): Promise<any> =>
      (
        await fetch(`${api.baseUrl}/v1/runs`, {
          method: 'POST',
          headers: headers(key),
          body: JSON.stringify(pretrain('nightly')),
        })
      ).json();
    const first = await post(a);
    expect((await post(a)).id).toBe(first.id);
    expect((await post(b)).id).not.toBe(first.id);
  });
});
