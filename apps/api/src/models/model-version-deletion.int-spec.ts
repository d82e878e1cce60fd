import { TrainyardClient } from '@trainyard/client';
import { HOSTILE_PATH_SEGMENTS, statusClass } from '../testing/hostile-path-segments';
import { projectKey, requestAs } from '../testing/keyed-requests';
import { succeededRun } from '../testing/succeeded-run';
import { startTestApi, type TestApi } from '../testing/test-api';

/**
 * `DELETE /v1/models/:name/versions/:version` over real HTTP, PostgreSQL and Redis: the registry
 * entry goes (the checkpoint stays with its run, which `DELETE /v1/runs/:id` may then delete), the
 * name with its last version; unfinished runs that fine-tune from it refuse the deletion; another
 * project's model is a 404.
 */
describe('DELETE /v1/models/:name/versions/:version (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  const call = (method: string, path: string, body?: unknown, key = api.adminKey) =>
    requestAs(api, key, method, path, body);
  const pretrained = (project = 'default') => succeededRun(api.app, { project });

  const register = async (name: string, runId: string, key = api.adminKey) => {
    const res = await call('POST', '/v1/models', { name, runId }, key);
    expect(res.status).toBe(201);
    return res.body as { version: number; checkpointId: string };
  };
  const finetuneFrom = (name: string, version: number) => ({
    kind: 'finetune',
    name: `from ${name} v${version}`,
    dataset: { name: 'synthetic-shapes' },
    model: { type: 'classifier', baseModel: { name, version } },
  });
  const versionPath = (name: string, version: number | string, query = '') =>
    `/v1/models/${encodeURIComponent(name)}/versions/${version}${query}`;

  it("removes versions one by one, the name with the last; the run's DELETE then works", async () => {
    const runId = await pretrained();
    const first = await register('encoder typo', runId);
    await register('encoder typo', runId);
    const blocked = await call('DELETE', `/v1/runs/${runId}`);
    expect(blocked.status).toBe(409);
    expect(blocked.body.blockers.map((b: { reason: string }) => b.reason)).toEqual([
      'registered-model',
      'registered-model',
    ]);

    const one = await call('DELETE', versionPath('encoder typo', 1));
    expect(one).toMatchObject({
      status: 200,
      body: {
        name: 'encoder typo',
        project: 'default',
        version: 1,
        runId,
        checkpointId: first.checkpointId,
        remainingVersions: 1,
      },
    });
    expect((await call('GET', '/v1/models/encoder%20typo/versions')).body.versions).toMatchObject([{ version: 2 }]);
    expect((await call('DELETE', versionPath('encoder typo', 1))).status).toBe(404);
    const last = await call('DELETE', versionPath('encoder typo', 2));
    expect(last).toMatchObject({ status: 200, body: { version: 2, remainingVersions: 0 } });
    expect((await call('GET', '/v1/models/encoder%20typo/versions')).status).toBe(404);
    expect((await call('GET', '/v1/models')).body.items.map((m: { name: string }) => m.name)).not.toContain(
      'encoder typo',
    );
    // The checkpoint stayed with its run until the run itself goes.
    expect((await call('GET', `/v1/runs/${runId}/checkpoints`)).status).toBe(200);
    expect(await call('DELETE', `/v1/runs/${runId}`)).toMatchObject({
      status: 200,
      body: { runId, checkpoints: { count: 1 } },
    });
  });

  it("never gives a deleted version's number again, even once the name had no version left", async () => {
    const runId = await pretrained();
    // Registrations of one name racing each other take one number each.
    const raced = await Promise.all([1, 2, 3].map(() => register('renumbered', runId)));
    expect(raced.map((v) => v.version).sort()).toEqual([1, 2, 3]);
    expect((await call('DELETE', versionPath('renumbered', 3))).status).toBe(200);
    expect((await register('renumbered', runId)).version).toBe(4);
    // A spec naming the deleted number is refused, not trained on the model that took its place.
    const stale = await call('POST', '/v1/runs', finetuneFrom('renumbered', 3));
    expect(stale.status).toBe(422);
    expect(stale.body.errors[0].field).toBe('model.baseModel');
    for (const version of [1, 2, 4])
      expect((await call('DELETE', versionPath('renumbered', version))).status).toBe(200);
    expect((await call('GET', '/v1/models/renumbered/versions')).status).toBe(404);
    expect((await register('renumbered', runId)).version).toBe(5);
  });

  it('refuses while an unfinished fine-tune builds on the version, naming it; a finished one does not hold it', async () => {
    const runId = await pretrained();
    await register('digits', runId);
    await register('digits', runId);
    const submitted = await call('POST', '/v1/runs', finetuneFrom('digits', 1));
    expect(submitted.status).toBe(201);
    const refused = await call('DELETE', versionPath('digits', 1));
    expect(refused.status).toBe(409);
    expect(refused.body.activeRuns).toEqual({ count: 1, ids: [submitted.body.id] });
    expect(refused.body.errors).toEqual([
      {
        field: 'version',
        message: `Version 1 of model "digits" is used by 1 run not finished (${submitted.body.id}): cancel it or let it end first`,
      },
    ]);
    // Another version of the name is not held by it.
    expect((await call('DELETE', versionPath('digits', 2))).status).toBe(200);

    expect((await call('POST', `/v1/runs/${submitted.body.id}/cancel`)).status).toBe(200);
    expect(await call('DELETE', versionPath('digits', 1))).toMatchObject({
      status: 200,
      body: { remainingVersions: 0 },
    });
    // The fine-tune keeps its history: its spec names the version, its base checkpoint stays pinned.
    expect((await call('GET', `/v1/runs/${submitted.body.id}`)).body).toMatchObject({
      status: 'CANCELLED',
      spec: { model: { baseModel: { name: 'digits', version: 1 } } },
    });
    const late = await call('POST', '/v1/runs', finetuneFrom('digits', 1));
    expect(late).toMatchObject({ status: 422, body: { errors: [{ field: 'model.baseModel' }] } });
  });

  it("answers 404 for another project's model, by its key or by naming the project", async () => {
    const a = await projectKey(api, 'team-a');
    const b = await projectKey(api, 'team-b');
    await register('theirs', await pretrained('team-a'), a);
    for (const query of ['', '?project=team-a']) {
      const res = await call('DELETE', versionPath('theirs', 1, query), undefined, b);
      expect({ query, status: res.status }).toEqual({ query, status: 404 });
    }
    // An operator's key names the project; without it, `default`, where there is no such model.
    expect((await call('DELETE', versionPath('theirs', 1))).status).toBe(404);
    expect((await call('GET', '/v1/models/theirs/versions', undefined, a)).status).toBe(200);
    expect((await call('DELETE', versionPath('theirs', 1, '?project=team-a'))).body).toMatchObject({
      project: 'team-a',
      remainingVersions: 0,
    });
  });

  it('answers hostile names and versions with a 4xx, never a 500, and deletes nothing', async () => {
    await register('kept', await pretrained());
    for (const segment of HOSTILE_PATH_SEGMENTS) {
      for (const path of [`/v1/models/${segment}/versions/1`, `/v1/models/kept/versions/${segment}`]) {
        const res = await call('DELETE', path);
        const shown = path.slice(0, 60);
        expect({ shown, status: statusClass(res.status) }).toEqual({ shown, status: '4xx' });
      }
    }
    for (const version of ['0', '01x', '1.5', '99999999', 'v1', '1%00']) {
      const res = await call('DELETE', `/v1/models/kept/versions/${version}`);
      expect({ version, status: res.status, fields: res.body.errors?.map((e: { field: string }) => e.field) }).toEqual({
        version,
        status: 400,
        fields: ['version'],
      });
    }
    expect((await call('DELETE', '/v1/models/a%00b/versions/1')).body.errors).toEqual([
      { field: 'name', message: expect.any(String) },
    ]);
    expect((await call('DELETE', versionPath('kept', 1, '?project=..%2Fx'))).status).toBe(400);
    expect((await call('GET', '/v1/models/kept/versions')).body.versions).toHaveLength(1);
  });

  it("refuses to register a model named '.' or '..', which no URL could reach again; other odd names round-trip", async () => {
    const runId = await pretrained();
    for (const name of ['.', '..', ' .. ']) {
      const res = await call('POST', '/v1/models', { name, runId });
      expect({ name, status: res.status, errors: res.body.errors }).toEqual({
        name,
        status: 400,
        errors: [{ field: 'name', message: "'.' and '..' cannot name a model: URLs resolve them as path steps" }],
      });
    }
    const client = new TrainyardClient(api.baseUrl, api.adminKey);
    for (const name of ['...', '.hidden', 'a/b', 'a%2Fb', 'x?y#z']) {
      const { version } = await register(name, runId);
      expect((await client.modelVersions(name)).versions.map((v) => v.version)).toEqual([version]);
      await client.deleteModelVersion(name, version);
    }
  });
});
