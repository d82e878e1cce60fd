import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODEL_VERSIONS_MAX_PER_NAME } from '@trainyard/contracts';
import { COMPARE_MAX_POINTS, COMPARE_MAX_RUNS } from '../runs/run-history-params';
import type { Database } from '@trainyard/db';
import { DATABASE } from '@trainyard/infrastructure';
import { projectKey, requestAs } from '../testing/keyed-requests';
import { succeededRun } from '../testing/succeeded-run';
import { startTestApi, type TestApi } from '../testing/test-api';
import { tinySpecs } from '../testing/tiny-specs';

/**
 * A tenant holding one project's key, against the API as it is: what a walkthrough of every route
 * found, kept as tests (see docs/security.md).
 */
describe('hostile walkthrough (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let a: string;
  let b: string;
  const { pretrain, finetune } = tinySpecs();
  const call = (key: string, method: string, path: string, body?: unknown) => requestAs(api, key, method, path, body);

  beforeAll(async () => {
    api = await startTestApi({ env: { RATE_LIMIT_PER_MINUTE: '1000000' } });
    a = await projectKey(api, 'team-a');
    b = await projectKey(api, 'team-b');
  });
  afterAll(() => api?.stop());

  it("serves no run's file from the store once the run has no row (deleted while a worker still wrote it)", async () => {
    // A worker may write a run's augmentation sample after the run's deletion listed runs/<id>/; the
    // row is gone, so the ownership guard has no project to hold it to: the route must not serve it.
    const id = randomUUID();
    const path = join(api.home, 'objects', 'runs', id, 'augmentation.png');
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, 'secret pixels');
    for (const key of [b, api.adminKey]) {
      const reply = await call(key, 'GET', `/v1/runs/${id}/augmentation.png`);
      expect(reply.status).toBe(404);
      expect(reply.text).not.toContain('secret pixels');
      expect(reply.body.detail ?? reply.body.message).toContain(id);
    }
  });

  it("answers another project's ids in capitals as unknown, on every kind of owned route", async () => {
    const { body: run } = await call(a, 'POST', '/v1/runs', pretrain('secret'));
    const sweep = await call(a, 'POST', '/v1/sweeps', {
      name: 's',
      base: finetune('s'),
      strategy: 'grid',
      parameters: { 'training.learningRate': [0.001] },
    });
    const pipeline = await call(a, 'POST', '/v1/pipelines', {
      name: 'p',
      pretrain: pretrain('p'),
      finetunes: [finetune('f')],
    });
    const upper = run.id.toUpperCase();
    const paths = [
      ...['', '/checkpoints', '/queue', '/metrics', '/series', '/logs', '/events', '/augmentation.png'].map(
        (suffix) => `/v1/runs/${upper}${suffix}`,
      ),
      `/v1/runs/compare?ids=${upper}`,
      `/v1/sweeps/${sweep.body.id.toUpperCase()}`,
      `/v1/pipelines/${pipeline.body.id.toUpperCase()}`,
    ];
    for (const path of paths)
      expect({ path, status: (await call(b, 'GET', path)).status }).toEqual({ path, status: 404 });
    expect((await call(b, 'PATCH', `/v1/runs/${upper}`, { name: 'mine' })).status).toBe(404);
    expect((await call(b, 'POST', `/v1/sweeps/${sweep.body.id.toUpperCase()}/cancel`)).status).toBe(404);
    expect((await call(a, 'GET', `/v1/runs/${run.id}`)).body.name).toBe('secret');
  });

  it('takes prototype keys in a metric sort and spec filter as plain names, within the project', async () => {
    for (const query of ['sort=metric:__proto__:best', 'sort=metric:constructor:last', 'spec.name=secret']) {
      const reply = await call(b, 'GET', `/v1/runs?${query}`);
      expect({ query, status: reply.status, items: reply.body.items }).toEqual({ query, status: 200, items: [] });
    }
    expect(({} as Record<string, unknown>)['best']).toBeUndefined();
  });

  it('holds a model name to MODEL_VERSIONS_MAX_PER_NAME versions and to numbers a spec can name, naming name', async () => {
    // Each POST /v1/models of one run is a new version, and GET /v1/models/:name/versions answers
    // them all at once: 300,000 made a 70 MB answer in 6 s here, and nothing held their number.
    const run = await succeededRun(api.app, { project: 'team-a' });
    expect((await call(a, 'POST', '/v1/models', { name: 'nightly', runId: run })).status).toBe(201);
    const database = api.app.get<Database>(DATABASE);
    await database.prisma.$executeRaw`
      INSERT INTO "model_versions" ("id", "name", "project", "version", "run_id", "checkpoint_id")
      SELECT gen_random_uuid(), "name", "project", "version" + g, "run_id", "checkpoint_id"
      FROM "model_versions", generate_series(1, ${MODEL_VERSIONS_MAX_PER_NAME - 1}::int) AS g
      WHERE "project" = 'team-a' AND "name" = 'nightly'`;
    await database.prisma.$executeRaw`
      UPDATE "model_names" SET "last_version" = ${MODEL_VERSIONS_MAX_PER_NAME}
      WHERE "project" = 'team-a' AND "name" = 'nightly'`;
    const full = await call(a, 'POST', '/v1/models', { name: 'nightly', runId: run });
    expect(full.status).toBe(409);
    expect(full.body.errors).toEqual([
      { field: 'name', message: expect.stringContaining(`${MODEL_VERSIONS_MAX_PER_NAME} versions`) },
    ]);
    expect((await call(a, 'GET', '/v1/models/nightly/versions')).body.versions).toHaveLength(
      MODEL_VERSIONS_MAX_PER_NAME,
    );
    // A version deleted frees a place; the next takes the number after the name's last.
    expect((await call(a, 'DELETE', '/v1/models/nightly/versions/1')).status).toBe(200);
    const next = await call(a, 'POST', '/v1/models', { name: 'nightly', runId: run });
    expect(next.status).toBe(201);
    expect(next.body.version).toBe(MODEL_VERSIONS_MAX_PER_NAME + 1);
    // Past the last number `model.baseModel.version` and the DELETE route take, a version could be
    // neither used nor deleted: none is given.
    await call(a, 'DELETE', '/v1/models/nightly/versions/2');
    await database.prisma.$executeRaw`
      UPDATE "model_names" SET "last_version" = 1000000 WHERE "project" = 'team-a' AND "name" = 'nightly'`;
    const spent = await call(a, 'POST', '/v1/models', { name: 'nightly', runId: run });
    expect(spent.status).toBe(409);
    expect(spent.body.errors).toEqual([{ field: 'name', message: expect.stringContaining('1000000') }]);
    expect((await call(a, 'POST', '/v1/models', { name: 'nightly-2', runId: run })).status).toBe(201);
  });

  it('holds a comparison to COMPARE_MAX_POINTS points in all before reading any, naming maxPoints', async () => {
    // 20 runs × 20 names × 10,000 points was 4,000,000 points read and answered at once (about
    // 90 bytes each), none of it streamed, at any key's rate.
    const ids: string[] = [];
    for (let i = 0; i < COMPARE_MAX_RUNS; i++) ids.push((await call(a, 'POST', '/v1/runs', pretrain(`c${i}`))).body.id);
    const names = Array.from({ length: 20 }, (_, i) => `m${i}`).join(',');
    const tooMany = await call(a, 'GET', `/v1/runs/compare?ids=${ids.join(',')}&names=${names}&maxPoints=10000`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors).toEqual([
      { field: 'maxPoints', message: expect.stringContaining(`at most ${COMPARE_MAX_POINTS}`) },
    ]);
    const allowed = Math.floor(COMPARE_MAX_POINTS / (COMPARE_MAX_RUNS * 20));
    expect(tooMany.body.errors[0].message).toContain(`maxPoints=${allowed}`);
    // At the budget, and what the dashboard (4 default names, 1,000 points) and the CLI ask, it answers.
    for (const query of [`names=${names}&maxPoints=${allowed}`, 'maxPoints=1000', ''])
      expect((await call(a, 'GET', `/v1/runs/compare?ids=${ids.join(',')}&${query}`)).status).toBe(200);
    // Another project's runs are still as unknown, whatever the size asked.
    expect((await call(b, 'GET', `/v1/runs/compare?ids=${ids[0]}&maxPoints=10000`)).status).toBe(404);
  });
});
