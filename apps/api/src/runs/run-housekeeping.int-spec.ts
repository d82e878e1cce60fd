import { randomUUID } from 'node:crypto';
import type { RunSpecInput } from '@trainyard/contracts';
import {
  AttemptsRepository,
  MetricsRepository,
  ModelVersionsRepository,
  RunsRepository,
  type Database,
} from '@trainyard/db';
import { DATABASE, OBJECT_STORE } from '@trainyard/infrastructure';
import type { ObjectStore } from '@trainyard/storage';
import { completeCheckpoint } from '../testing/succeeded-run';
import { startTestApi, type TestApi } from '../testing/test-api';

/**
 * Housekeeping over real HTTP, PostgreSQL, Redis and the local object store: rename, tag and
 * annotate; tag filters and the archive; deletion with its protections, its dry run, and the
 * objects it removes from the store.
 */
describe('run housekeeping (PostgreSQL, Redis, HTTP, object store)', () => {
  let api: TestApi;
  let runs: RunsRepository;
  let store: ObjectStore;
  let db: Database;

  beforeAll(async () => {
    api = await startTestApi();
    runs = api.app.get(RunsRepository);
    store = api.app.get<ObjectStore>(OBJECT_STORE);
    db = api.app.get<Database>(DATABASE);
  });
  afterAll(async () => {
    await api?.stop();
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are asserted field by field
  type Reply = { status: number; body: any };
  async function http(method: string, path: string, body?: unknown): Promise<Reply> {
    const res = await api.fetch(`${api.baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
  const fields = (reply: Reply) => (reply.body.errors as { field: string }[]).map((e) => e.field);
  const ids = (reply: Reply) => (reply.body.items as { id: string }[]).map((r) => r.id);
  const pretrain = (name: string): RunSpecInput => ({ kind: 'pretrain', name, dataset: { name: 'synthetic-shapes' } });

  /** A SUCCEEDED run with an attempt, metric points, a COMPLETE checkpoint and objects in the store, as a worker leaves it. */
  async function finishedRun(
    name: string,
    extra: { baseRunId?: string; baseCheckpointId?: string } = {},
  ): Promise<{ id: string; checkpointId: string }> {
    const id = randomUUID();
    await runs.create({
      id,
      kind: extra.baseRunId ? 'FINETUNE' : 'PRETRAIN',
      name,
      spec: pretrain(name) as never,
      baseRunId: extra.baseRunId ?? null,
      baseCheckpointId: extra.baseCheckpointId ?? null,
    });
    await api.app.get(AttemptsRepository).openCurrent(id, null);
    await runs.markRunning(id, 'cpu');
    const wallTime = new Date();
    await api.app.get(MetricsRepository).write(
      id,
      null,
      [1, 2, 3].map((step) => ({ name: 'loss', step, epoch: 1, value: 1 / step, wallTime })),
    );
    const prefix = `runs/${id}/checkpoints/1/`;
    await store.put(`${prefix}classifier/model.json`, Buffer.from('{"a":1}'));
    await store.put(`${prefix}manifest.json`, Buffer.from('{}'));
    await store.put(`runs/${id}/logs/00001-000001.ndjson`, Buffer.from('{}\n'));
    const checkpointId = await completeCheckpoint(api.app, id, {
      uri: store.uri(prefix),
      models: ['classifier'],
      bytes: 9,
    });
    await runs.finish(id, 'SUCCEEDED');
    return { id, checkpointId };
  }

  describe('PATCH /v1/runs/:id', () => {
    it('renames, tags and annotates, answering the run detail; fields left out stay', async () => {
      const { id } = await finishedRun('before');
      const notes = '# Findings\n\n- lr 1e-3 was *better*\n\tindented\r\nwindows line';
      const reply = await http('PATCH', `/v1/runs/${id}`, { name: 'after', tags: ['baseline', 'lr:1e-3'], notes });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        id,
        name: 'after',
        tags: ['baseline', 'lr:1e-3'],
        notes,
        archivedAt: null,
        status: 'SUCCEEDED',
      });
      expect(reply.body.attempts).toHaveLength(1);
      const again = await http('PATCH', `/v1/runs/${id}`, { tags: [] });
      expect(again.body).toMatchObject({ name: 'after', tags: [], notes });
      expect((await http('PATCH', `/v1/runs/${id}`, { notes: null })).body.notes).toBeNull();
    });

    it('refuses hostile and malformed bodies with a 400 naming the field, and changes nothing', async () => {
      const { id } = await finishedRun('kept');
      const cases: [unknown, string][] = [
        [{ tags: ['Upper'] }, 'tags.0'],
        [{ tags: ['a', 'a'] }, 'tags'],
        [{ tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }, 'tags'],
        [{ tags: ['x'.repeat(64)] }, 'tags.0'],
        [{ tags: 'baseline' }, 'tags'],
        [{ notes: 'a\u0000b' }, 'notes'],
        [{ notes: 'a\u001b[31mred' }, 'notes'],
        [{ notes: 'a\rb' }, 'notes'],
        [{ notes: 'x'.repeat(20_001) }, 'notes'],
        [{ name: 'a\nb' }, 'name'],
        [{ name: '' }, 'name'],
        [{ status: 'SUCCEEDED' }, 'status'],
        [{}, '(root)'],
        [{ tags: ['a'], addTags: ['b'] }, 'tags'],
        [{ addTags: ['a'], removeTags: ['a'] }, 'removeTags'],
        [{ addTags: ['Bad'] }, 'addTags.0'],
        [{ removeTags: [{ __proto__: 1 }] }, 'removeTags.0'],
      ];
      for (const [body, field] of cases) {
        const reply = await http('PATCH', `/v1/runs/${id}`, body);
        expect({ body, status: reply.status }).toEqual({ body, status: 400 });
        expect({ body, fields: fields(reply) }).toEqual({ body, fields: expect.arrayContaining([field]) });
      }
      expect(await runs.get(id)).toMatchObject({ name: 'kept', tags: [], notes: null });
      expect((await http('PATCH', `/v1/runs/${randomUUID()}`, { name: 'x' })).status).toBe(404);
    });

    it('adds and removes tags under the run lock: twelve scripts tagging at once all land', async () => {
      const { id } = await finishedRun('tagged at once');
      await http('PATCH', `/v1/runs/${id}`, { tags: ['keep', 'drop'] });
      const adds = Array.from({ length: 12 }, (_, i) => `t${i}`);
      const replies = await Promise.all([
        ...adds.map((tag) => http('PATCH', `/v1/runs/${id}`, { addTags: [tag, 'keep'] })),
        http('PATCH', `/v1/runs/${id}`, { removeTags: ['drop'] }),
      ]);
      expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
      const { tags } = (await runs.get(id))!;
      expect([...tags].sort()).toEqual(['keep', ...adds].sort());
      expect(tags[0]).toBe('keep');
    });

    it('refuses tags added past the most a run may have with a 400 naming addTags, changing nothing', async () => {
      const { id } = await finishedRun('full');
      const full = Array.from({ length: 32 }, (_, i) => `t${i}`);
      await http('PATCH', `/v1/runs/${id}`, { tags: full });
      const reply = await http('PATCH', `/v1/runs/${id}`, { addTags: ['one-more', 't0'], name: 'renamed' });
      expect(reply.status).toBe(400);
      expect(reply.body.errors).toEqual([
        { field: 'addTags', message: 'The run would have 33 tags; a run has 32 at most' },
      ]);
      expect(await runs.get(id)).toMatchObject({ name: 'full', tags: full });
      expect((await http('PATCH', `/v1/runs/${id}`, { addTags: ['t5'], removeTags: ['t0'] })).body.tags).toEqual([
        ...full.slice(1),
      ]);
    });
  });

  describe('tags and the archive in lists', () => {
    it('filters by every tag given, hides archived runs unless asked, and pages with the cursor', async () => {
      const tag = `t${Date.now()}`;
      const [a, b, c] = [await finishedRun('a'), await finishedRun('b'), await finishedRun('c')];
      await http('PATCH', `/v1/runs/${a.id}`, { tags: [tag, 'gold'] });
      await http('PATCH', `/v1/runs/${b.id}`, { tags: [tag] });
      await http('PATCH', `/v1/runs/${c.id}`, { tags: [tag, 'gold'] });

      expect(ids(await http('GET', `/v1/runs?tag=${tag}`))).toEqual([c.id, b.id, a.id]);
      expect(ids(await http('GET', `/v1/runs?tag=${tag}&tag=gold`))).toEqual([c.id, a.id]);
      const first = await http('GET', `/v1/runs?tag=${tag}&tag=gold&limit=1`);
      expect(ids(first)).toEqual([c.id]);
      expect(ids(await http('GET', `/v1/runs?tag=${tag}&tag=gold&limit=1&cursor=${first.body.nextCursor}`))).toEqual([
        a.id,
      ]);

      const archived = await http('POST', `/v1/runs/${c.id}/archive`);
      expect(archived.status).toBe(200);
      expect(archived.body.archivedAt).toEqual(expect.any(String));
      // Archiving again keeps the first time.
      expect((await http('POST', `/v1/runs/${c.id}/archive`)).body.archivedAt).toBe(archived.body.archivedAt);
      expect(ids(await http('GET', `/v1/runs?tag=${tag}`))).toEqual([b.id, a.id]);
      expect(ids(await http('GET', `/v1/runs?tag=${tag}&archived=true`))).toEqual([c.id]);
      expect(ids(await http('GET', `/v1/runs?tag=${tag}&archived=any&sort=metric:loss:best`)).sort()).toEqual(
        [a.id, b.id, c.id].sort(),
      );
      // Archived runs are still readable by id.
      expect((await http('GET', `/v1/runs/${c.id}`)).body.archivedAt).toBe(archived.body.archivedAt);

      const back = await http('POST', `/v1/runs/${c.id}/unarchive`);
      expect(back.body.archivedAt).toBeNull();
      expect(ids(await http('GET', `/v1/runs?tag=${tag}`))).toEqual([c.id, b.id, a.id]);
      expect((await http('POST', `/v1/runs/${randomUUID()}/archive`)).status).toBe(404);
    });

    it.each([
      ['tag=Bad', 'tag'],
      ['tag=a%00b', 'tag'],
      ['tag[x]=1', 'tag'],
      ['archived=yes', 'archived'],
      ['archived=true&archived=false', 'archived'],
    ])('refuses %s with a 400 naming %s', async (query, field) => {
      const reply = await http('GET', `/v1/runs?${query}`);
      expect(reply.status).toBe(400);
      expect(fields(reply)[0]).toMatch(new RegExp(`^${field}`));
    });
  });

  describe('DELETE /v1/runs/:id', () => {
    it('answers a dry run with what the real delete then removes, objects included; then 404', async () => {
      const { id } = await finishedRun('doomed');
      const dry = await http('DELETE', `/v1/runs/${id}?dryRun=true`);
      expect(dry.status).toBe(200);
      expect(dry.body).toMatchObject({
        runId: id,
        dryRun: true,
        metricPoints: 3,
        attempts: 1,
        checkpoints: { count: 1, bytes: 9 },
        sweep: null,
        pipeline: null,
      });
      expect(dry.body.objects).toMatchObject({ prefix: store.uri(`runs/${id}/`), count: 3, bytes: 7 + 2 + 3 });
      expect(dry.body.objects.sample).toContain(`runs/${id}/checkpoints/1/manifest.json`);
      // A dry run removes nothing.
      expect(await store.list(`runs/${id}/`)).toHaveLength(3);
      expect((await http('GET', `/v1/runs/${id}`)).status).toBe(200);

      const real = await http('DELETE', `/v1/runs/${id}`);
      expect(real.status).toBe(200);
      expect({ ...real.body, dryRun: true }).toEqual(dry.body);
      expect(await store.list(`runs/${id}/`)).toEqual([]);
      const [left] = await db.prisma.$queryRaw<{ n: number }[]>`
        SELECT ((SELECT count(*) FROM "metric_points" WHERE "run_id" = ${id}::uuid) + (SELECT count(*) FROM "checkpoints" WHERE "run_id" = ${id}::uuid)
          + (SELECT count(*) FROM "attempts" WHERE "run_id" = ${id}::uuid) + (SELECT count(*) FROM "metric_summaries" WHERE "run_id" = ${id}::uuid))::int AS n`;
      expect(left!.n).toBe(0);
      expect((await http('GET', `/v1/runs/${id}`)).status).toBe(404);
      expect((await http('DELETE', `/v1/runs/${id}`)).status).toBe(404);
      expect((await http('DELETE', `/v1/runs/${id}?dryRun=true`)).status).toBe(404);
    });

    it('reads an id in capitals as the same run: the answers name it in lowercase and its objects go too', async () => {
      const { id } = await finishedRun('shouting');
      const upper = id.toUpperCase();
      const fetched = await http('GET', `/v1/runs/${upper}`);
      expect(fetched.status).toBe(200);
      expect(fetched.body.id).toBe(id);
      const compared = await http('GET', `/v1/runs/compare?ids=${upper}`);
      expect(compared.status).toBe(200);
      expect((compared.body.runs as { run: { id: string } }[]).map((r) => r.run.id)).toEqual([id]);
      const deleted = await http('DELETE', `/v1/runs/${upper}`);
      expect(deleted.status).toBe(200);
      expect(deleted.body).toMatchObject({ runId: id, objects: { count: 3 } });
      expect(await store.list(`runs/${id}/`)).toEqual([]);
      expect(await runs.get(id)).toBeNull();
    });

    it('converges when retried after the objects went but the rows stayed', async () => {
      const { id } = await finishedRun('half-deleted');
      await store.delete((await store.list(`runs/${id}/`)).map((o) => o.key));
      const reply = await http('DELETE', `/v1/runs/${id}`);
      expect(reply.status).toBe(200);
      expect(reply.body.objects.count).toBe(0);
      expect(await runs.get(id)).toBeNull();
    });

    it('refuses a queued run (cancel first), with a 409 listing why', async () => {
      const { body: run } = await http('POST', '/v1/runs', pretrain('queued'));
      const reply = await http('DELETE', `/v1/runs/${run.id}?dryRun=true`);
      expect(reply.status).toBe(409);
      expect(reply.body.blockers).toEqual([expect.objectContaining({ reason: 'active', id: run.id })]);
      expect((await http('DELETE', `/v1/runs/${run.id}`)).status).toBe(409);
      expect(await runs.get(run.id)).not.toBeNull();
      await http('POST', `/v1/runs/${run.id}/cancel`);
      expect((await http('DELETE', `/v1/runs/${run.id}`)).status).toBe(200);
    });

    it('refuses a run whose checkpoint backs a registered model version, keeping its objects', async () => {
      const { id, checkpointId } = await finishedRun('registered');
      const registered = await api.app
        .get(ModelVersionsRepository)
        .register({ name: `m-${id.slice(0, 8)}`, project: 'default', runId: id, checkpointId });
      if (registered.outcome !== 'registered') throw new Error(`Not registered: ${registered.outcome}`);
      const { version } = registered;
      const reply = await http('DELETE', `/v1/runs/${id}`);
      expect(reply.status).toBe(409);
      expect(reply.body.blockers).toEqual([expect.objectContaining({ reason: 'registered-model', id: version.id })]);
      expect(reply.body.errors).toEqual([expect.objectContaining({ field: 'registered-model' })]);
      expect(await store.list(`runs/${id}/`)).toHaveLength(3);
    });

    it('refuses the base of another run until that run is deleted', async () => {
      const base = await finishedRun('base');
      const tuned = await finishedRun('tuned', { baseRunId: base.id, baseCheckpointId: base.checkpointId });
      const reply = await http('DELETE', `/v1/runs/${base.id}?dryRun=true`);
      expect(reply.status).toBe(409);
      expect(reply.body.blockers).toEqual([expect.objectContaining({ reason: 'base-of-run', id: tuned.id })]);
      expect((await http('DELETE', `/v1/runs/${tuned.id}`)).status).toBe(200);
      expect((await http('DELETE', `/v1/runs/${base.id}`)).status).toBe(200);
    });

    it('refuses a step of a running pipeline', async () => {
      const shapes = { name: 'synthetic-shapes', imageSize: 16, perClass: 8 };
      const encoder = { inputShape: [16, 16, 1], filters: [4], latentDim: 8 };
      const pipeline = await http('POST', '/v1/pipelines', {
        name: 'p',
        pretrain: { name: 'p pretrain', dataset: shapes, model: { type: 'conv-autoencoder', ...encoder } },
        finetunes: [{ name: 'p ft', dataset: shapes, model: { type: 'classifier', ...encoder } }],
      });
      expect(pipeline.status).toBe(201);
      const step = (pipeline.body.runs as { id: string; kind: string }[]).find((r) => r.kind === 'PRETRAIN')!;
      await runs.markRunning(step.id, 'cpu');
      await runs.finish(step.id, 'SUCCEEDED');
      const reply = await http('DELETE', `/v1/runs/${step.id}?dryRun=true`);
      expect(reply.status).toBe(409);
      expect(reply.body.blockers.map((b: { reason: string }) => b.reason)).toEqual(
        expect.arrayContaining(['running-pipeline', 'base-of-run']),
      );
    });

    it('names the sweep and the ended pipeline a deletion takes a run out of, dry or not', async () => {
      const shapes = { name: 'synthetic-shapes', imageSize: 16, perClass: 8 };
      const encoder = { inputShape: [16, 16, 1], filters: [4], latentDim: 8 };
      const sweep = await http('POST', '/v1/sweeps', {
        name: 'lr search',
        base: { name: 'sw', dataset: shapes, model: { type: 'classifier', ...encoder } },
        strategy: 'grid',
        parameters: { 'training.seed': [1, 2] },
      });
      expect(sweep.status).toBe(201);
      const board = async () =>
        ((await http('GET', `/v1/sweeps/${sweep.body.id}`)).body.leaderboard as { runId: string }[]).map(
          (r) => r.runId,
        );
      const swept = (await board())[0]!;
      expect((await http('POST', `/v1/runs/${swept}/cancel`)).status).toBe(200);
      const inSweep = { id: sweep.body.id, name: 'lr search' };
      expect((await http('DELETE', `/v1/runs/${swept}?dryRun=true`)).body).toMatchObject({
        sweep: inSweep,
        pipeline: null,
      });
      expect((await http('DELETE', `/v1/runs/${swept}`)).body).toMatchObject({ dryRun: false, sweep: inSweep });
      expect(await board()).not.toContain(swept);

      const pipeline = await http('POST', '/v1/pipelines', {
        name: 'ended',
        pretrain: { name: 'e pretrain', dataset: shapes, model: { type: 'conv-autoencoder', ...encoder } },
        finetunes: [{ name: 'e ft', dataset: shapes, model: { type: 'classifier', ...encoder } }],
      });
      expect(pipeline.status).toBe(201);
      expect((await http('POST', `/v1/pipelines/${pipeline.body.id}/cancel`)).status).toBe(200);
      const step = (pipeline.body.runs as { id: string; kind: string }[]).find((r) => r.kind === 'FINETUNE')!;
      expect((await http('DELETE', `/v1/runs/${step.id}?dryRun=true`)).body).toMatchObject({
        sweep: null,
        pipeline: { id: pipeline.body.id, name: 'ended' },
      });
    });

    it('refuses a malformed dryRun with a 400 naming it', async () => {
      const reply = await http('DELETE', `/v1/runs/${randomUUID()}?dryRun=maybe`);
      expect(reply.status).toBe(400);
      expect(fields(reply)).toEqual(['dryRun']);
    });
  });
});
