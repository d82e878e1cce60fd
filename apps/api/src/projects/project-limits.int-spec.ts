/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies of many shapes; the assertions check them */
import { WorkersRepository, type Database } from '@trainyard/db';
import { bullmqPriority, type TrainingQueues } from '@trainyard/queue';
import { DATABASE, TRAINING_QUEUES } from '@trainyard/infrastructure';
import { startTestApi, type TestApi } from '../testing/test-api';

/**
 * A project's own limit on runs training at once (`/v1/projects/:project/limits`) over real HTTP,
 * PostgreSQL and Redis: what it answers, who may read and change it, that raising it lets parked
 * jobs back in line at once, and that hostile names and bodies are refused without writing.
 */
describe('project limits (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let visionKey: string;
  let visionAdminKey: string;
  let readOnlyOperatorKey: string;

  async function call(key: string, method: string, path: string, body?: unknown, raw?: string) {
    const res = await fetch(`${api.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined && raw === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as any,
    };
  }
  const admin = (method: string, path: string, body?: unknown) => call(api.adminKey, method, path, body);

  async function newKey(scopes: string[], project?: string): Promise<string> {
    const res = await admin('POST', '/v1/keys', { name: `k ${scopes.join(',')} ${project ?? 'ops'}`, scopes, project });
    expect(res.status).toBe(201);
    return res.body.token;
  }

  beforeAll(async () => {
    api = await startTestApi({
      env: { PROJECT_MAX_RUNNING: '2', QUOTA_MAX_PRIORITY: '50', RATE_LIMIT_PER_MINUTE: '100000' },
    });
    visionKey = await newKey(['read', 'submit'], 'vision');
    visionAdminKey = await newKey(['admin'], 'vision');
    readOnlyOperatorKey = await newKey(['read']);
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('answers the default for a project without its own limit, then its own once set, until it is removed', async () => {
    expect((await admin('GET', '/v1/projects/vision/limits')).body).toEqual({
      project: 'vision',
      maxRunning: null,
      defaultMaxRunning: 2,
      workersMaxRunning: [],
      effectiveMaxRunning: 2,
      maxQueued: null,
      defaultMaxQueued: 1000,
      effectiveMaxQueued: 1000,
      maxPriority: null,
      defaultMaxPriority: 50,
      effectiveMaxPriority: 50,
      maxUploadBytes: null,
      defaultMaxUploadBytes: 53_687_091_200,
      effectiveMaxUploadBytes: 53_687_091_200,
      uploadedBytes: 0,
      uploadsInProgressBytes: 0,
      checkpointBytes: 0,
      running: 0,
      waiting: 0,
    });
    const run = (
      await call(visionKey, 'POST', '/v1/runs', { kind: 'pretrain', name: 'a', dataset: { name: 'synthetic-shapes' } })
    ).body.id;
    expect((await admin('GET', `/v1/runs/${run}/queue`)).body.projectLimit).toEqual({
      project: 'vision',
      running: 0,
      limit: 2,
      source: 'default',
    });

    const set = await admin('PATCH', '/v1/projects/vision/limits', { maxRunning: 5 });
    expect(set).toEqual({
      status: 200,
      body: {
        project: 'vision',
        maxRunning: 5,
        defaultMaxRunning: 2,
        workersMaxRunning: [],
        effectiveMaxRunning: 5,
        maxQueued: null,
        defaultMaxQueued: 1000,
        effectiveMaxQueued: 1000,
        maxPriority: null,
        defaultMaxPriority: 50,
        effectiveMaxPriority: 50,
        maxUploadBytes: null,
        defaultMaxUploadBytes: 53_687_091_200,
        effectiveMaxUploadBytes: 53_687_091_200,
        uploadedBytes: 0,
        uploadsInProgressBytes: 0,
        checkpointBytes: 0,
        running: 0,
        waiting: 1,
      },
    });
    // Lowered below the default: a project's own limit holds it either way.
    await admin('PATCH', '/v1/projects/vision/limits', { maxRunning: 1 });
    expect((await call(visionKey, 'GET', '/v1/projects/vision/limits')).body).toMatchObject({
      maxRunning: 1,
      effectiveMaxRunning: 1,
    });
    expect((await admin('GET', `/v1/runs/${run}/queue`)).body.projectLimit).toEqual({
      project: 'vision',
      running: 0,
      limit: 1,
      source: 'project',
    });
    await admin('PATCH', '/v1/projects/audio/limits', { maxRunning: 7 });
    expect((await admin('GET', '/v1/projects/limits')).body).toEqual({
      defaultMaxRunning: 2,
      workersMaxRunning: [],
      defaultMaxQueued: 1000,
      defaultMaxPriority: 50,
      defaultMaxUploadBytes: 53_687_091_200,
      items: [
        {
          project: 'audio',
          maxRunning: 7,
          defaultMaxRunning: 2,
          workersMaxRunning: [],
          effectiveMaxRunning: 7,
          maxQueued: null,
          defaultMaxQueued: 1000,
          effectiveMaxQueued: 1000,
          maxPriority: null,
          defaultMaxPriority: 50,
          effectiveMaxPriority: 50,
          maxUploadBytes: null,
          defaultMaxUploadBytes: 53_687_091_200,
          effectiveMaxUploadBytes: 53_687_091_200,
          uploadedBytes: 0,
          uploadsInProgressBytes: 0,
          checkpointBytes: 0,
          running: 0,
          waiting: 0,
        },
        {
          project: 'vision',
          maxRunning: 1,
          defaultMaxRunning: 2,
          workersMaxRunning: [],
          effectiveMaxRunning: 1,
          maxQueued: null,
          defaultMaxQueued: 1000,
          effectiveMaxQueued: 1000,
          maxPriority: null,
          defaultMaxPriority: 50,
          effectiveMaxPriority: 50,
          maxUploadBytes: null,
          defaultMaxUploadBytes: 53_687_091_200,
          effectiveMaxUploadBytes: 53_687_091_200,
          uploadedBytes: 0,
          uploadsInProgressBytes: 0,
          checkpointBytes: 0,
          running: 0,
          waiting: 1,
        },
      ],
    });

    expect((await admin('PATCH', '/v1/projects/audio/limits', { maxRunning: null })).body).toMatchObject({
      maxRunning: null,
      effectiveMaxRunning: 2,
    });
    expect((await admin('GET', '/v1/projects/limits')).body.items.map((p: any) => p.project)).toEqual(['vision']);
    await call(visionKey, 'POST', `/v1/runs/${run}/cancel`);
  });

  it("holds a project's submits to its own queued quota, changes one limit without the other, and drops an empty row", async () => {
    const pretrain = (name: string) => ({ kind: 'pretrain', name, dataset: { name: 'synthetic-shapes' } });
    const audioKey = await newKey(['read', 'submit'], 'audio');
    expect((await admin('PATCH', '/v1/projects/audio/limits', { maxQueued: 1, maxRunning: 4 })).body).toMatchObject({
      maxRunning: 4,
      maxQueued: 1,
      effectiveMaxQueued: 1,
    });
    const first = await call(audioKey, 'POST', '/v1/runs', pretrain('q1'));
    expect(first.status).toBe(201);
    const refused = await call(audioKey, 'POST', '/v1/runs', pretrain('q2'));
    expect(refused).toMatchObject({ status: 429, body: { errors: [{ field: 'project' }] } });
    expect(refused.body.message).toMatch(
      /has 1 runs waiting; 1 more would pass its quota of 1 \(its own, set by an operator\)/,
    );
    // Another project keeps the default quota.
    expect((await call(visionKey, 'POST', '/v1/runs', pretrain('other'))).status).toBe(201);

    // Only the queued quota removed: the running limit stays, and submits are held by the default again.
    expect((await admin('PATCH', '/v1/projects/audio/limits', { maxQueued: null })).body).toMatchObject({
      maxRunning: 4,
      maxQueued: null,
      effectiveMaxQueued: 1000,
    });
    expect((await call(audioKey, 'POST', '/v1/runs', pretrain('q2'))).status).toBe(201);
    // Both gone: no row left, so the project is not listed.
    await admin('PATCH', '/v1/projects/audio/limits', { maxRunning: null });
    expect((await admin('GET', '/v1/projects/limits')).body.items.map((p: any) => p.project)).not.toContain('audio');
    const { prisma } = api.app.get<Database>(DATABASE);
    expect(await prisma.projectLimit.count({ where: { project: 'audio' } })).toBe(0);
  });

  it("holds every spec of a run, sweep or pipeline to the project's priority cap (422 naming it), writing nothing past it", async () => {
    const { prisma } = api.app.get<Database>(DATABASE);
    const runsOf = (project: string) => prisma.run.count({ where: { project } });
    const robotsKey = await newKey(['read', 'submit'], 'robots');
    const submit = (path: string, body: unknown, key = robotsKey) => call(key, 'POST', path, body);
    const dataset = { name: 'synthetic-shapes' };
    const pretrain = (priority?: number) => ({ kind: 'pretrain', name: `p ${priority}`, dataset, priority });
    const finetune = (priority?: number) => ({
      name: `f ${priority}`,
      dataset,
      model: { type: 'classifier' },
      priority,
    });
    const sweep = (priority?: number) => ({
      name: `s ${priority}`,
      base: finetune(priority),
      strategy: 'grid',
      parameters: { 'training.seed': [1, 2] },
      metric: 'test/accuracy',
      goal: 'max',
    });
    const pipeline = (priorities: (number | undefined)[]) => ({
      name: 'pl',
      pretrain: { name: 'pl pretrain', dataset, priority: priorities[0] },
      finetunes: priorities.slice(1).map((priority, i) => ({ ...finetune(priority), name: `pl f${i}` })),
    });
    const refusedFields = (res: { status: number; body: any }) => ({
      status: res.status,
      fields: res.body.errors?.map((e: any) => e.field),
    });

    // QUOTA_MAX_PRIORITY (50) holds a project without a cap of its own.
    expect((await submit('/v1/runs', pretrain(50))).status).toBe(201);
    const above = await submit('/v1/runs', pretrain(51));
    expect(refusedFields(above)).toEqual({ status: 422, fields: ['priority'] });
    expect(above.body.errors[0].message).toBe(
      'Priority 51 is above 50, the highest project "robots" may ask for (QUOTA_MAX_PRIORITY)',
    );
    expect(await runsOf('robots')).toBe(1);

    // Its own cap, above the default.
    expect((await admin('PATCH', '/v1/projects/robots/limits', { maxPriority: 80 })).body).toMatchObject({
      maxPriority: 80,
      defaultMaxPriority: 50,
      effectiveMaxPriority: 80,
      maxRunning: null,
      maxQueued: null,
    });
    expect((await submit('/v1/runs', pretrain(80))).status).toBe(201);
    expect((await submit('/v1/runs', pretrain(81))).body.errors[0].message).toMatch(
      /above 80, the highest project "robots" may ask for \(its own, set by an operator\)$/,
    );

    // Capped at 0: specs naming none (0) and sweep runs (−10) still pass; any spec above is named where it sits.
    await admin('PATCH', '/v1/projects/robots/limits', { maxPriority: 0 });
    const before = await runsOf('robots');
    expect((await submit('/v1/runs', pretrain())).status).toBe(201);
    expect((await submit('/v1/sweeps', sweep())).status).toBe(201);
    expect((await submit('/v1/pipelines', pipeline([undefined, -5]))).status).toBe(201);
    expect(await runsOf('robots')).toBe(before + 1 + 2 + 2);
    const written = await runsOf('robots');
    expect(refusedFields(await submit('/v1/sweeps', sweep(5)))).toEqual({ status: 422, fields: ['base.priority'] });
    expect(refusedFields(await submit('/v1/pipelines', pipeline([3, 0, 7])))).toEqual({
      status: 422,
      fields: ['pretrain.priority', 'finetunes.1.priority'],
    });
    // With an Idempotency-Key: refused, and the key stays unused for the corrected request.
    const keyed = (body: unknown) =>
      fetch(`${api.baseUrl}/v1/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${robotsKey}`, 'content-type': 'application/json', 'idempotency-key': 'k1' },
        body: JSON.stringify(body),
      });
    expect((await keyed(pretrain(1))).status).toBe(422);
    expect((await keyed(pretrain(0))).status).toBe(201);
    expect(await runsOf('robots')).toBe(written + 1);
    // Another project keeps the default cap; an operator's own submits are held to it too.
    expect((await submit('/v1/runs', pretrain(50), visionKey)).status).toBe(201);
    expect((await call(api.adminKey, 'POST', '/v1/runs', pretrain(51))).status).toBe(422);

    for (const body of [{ maxPriority: -1 }, { maxPriority: 101 }, { maxPriority: 2.5 }, { maxPriority: '5' }]) {
      const res = await admin('PATCH', '/v1/projects/robots/limits', body);
      expect({ body, ...refusedFields(res) }).toEqual({ body, status: 400, fields: ['maxPriority'] });
    }
    expect((await admin('PATCH', '/v1/projects/robots/limits', { maxPriority: null })).body).toMatchObject({
      maxPriority: null,
      effectiveMaxPriority: 50,
    });
    // Its only limit removed: no row left.
    expect(await prisma.projectLimit.count({ where: { project: 'robots' } })).toBe(0);
    const waiting = await prisma.run.findMany({ where: { project: { in: ['robots', 'vision'] }, status: 'QUEUED' } });
    for (const run of waiting) await admin('POST', `/v1/runs/${run.id}/cancel`);
  });

  it('lets parked jobs that now have a place back in line when a limit is raised', async () => {
    const queues = api.app.get<TrainingQueues>(TRAINING_QUEUES);
    await admin('PATCH', '/v1/projects/vision/limits', { maxRunning: 1 });
    // Two jobs parked by a worker that found the project at its limit: delayed, recorded for the project.
    const parked: string[] = [];
    for (const name of ['p1', 'p2']) {
      const id = (
        await call(visionKey, 'POST', '/v1/runs', { kind: 'pretrain', name, dataset: { name: 'synthetic-shapes' } })
      ).body.id;
      await api.queue.remove(id);
      await api.queue.add('pretrain', { runId: id }, { jobId: id, priority: bullmqPriority(0), delay: 600_000 });
      await queues.park(id, 'vision', bullmqPriority(0), Date.now());
      parked.push(id);
    }
    expect((await call(visionKey, 'GET', `/v1/runs/${parked[0]}/queue`)).body).toMatchObject({
      parked: true,
      jobState: 'delayed',
    });

    // Two places now, none used: both go back in line, in the order they were parked.
    await admin('PATCH', '/v1/projects/vision/limits', { maxRunning: 2 });
    for (const id of parked) {
      const queue = (await call(visionKey, 'GET', `/v1/runs/${id}/queue`)).body;
      expect(queue).toMatchObject({ parked: false, jobState: 'prioritized' });
    }
    expect(await queues.hasParked('vision')).toBe(false);
    for (const id of parked) await call(visionKey, 'POST', `/v1/runs/${id}/cancel`);
    await admin('PATCH', '/v1/projects/vision/limits', { maxRunning: null });
  });

  it("lets a project's keys read only its own limits, and only an operator's admin key change or list them", async () => {
    expect((await call(visionKey, 'GET', '/v1/projects/vision/limits')).status).toBe(200);
    // Another project answers as an unknown resource does.
    expect(await call(visionKey, 'GET', '/v1/projects/audio/limits')).toMatchObject({
      status: 404,
      body: { message: 'No project with id audio' },
    });
    expect((await call(visionKey, 'PATCH', '/v1/projects/vision/limits', { maxRunning: 50 })).status).toBe(403);
    expect((await call(visionKey, 'GET', '/v1/projects/limits')).status).toBe(403);
    expect((await call(readOnlyOperatorKey, 'PATCH', '/v1/projects/vision/limits', { maxRunning: 50 })).status).toBe(
      403,
    );
    expect((await call(readOnlyOperatorKey, 'GET', '/v1/projects/audio/limits')).status).toBe(200);
    // Admin of its own project still cannot lift the project's limit, nor list the others.
    const own = await call(visionAdminKey, 'PATCH', '/v1/projects/vision/limits', { maxRunning: 50 });
    expect(own).toMatchObject({ status: 403, body: { errors: [{ field: 'Authorization' }] } });
    expect((await call(visionAdminKey, 'GET', '/v1/projects/limits')).status).toBe(403);
    expect((await admin('GET', '/v1/projects/vision/limits')).body.maxRunning).toBeNull();
    expect((await call(api.adminKey, 'PATCH', '/v1/projects/vision/limits', { maxRunning: 3 }, undefined)).status).toBe(
      200,
    );
    await admin('PATCH', '/v1/projects/vision/limits', { maxRunning: null });
  });

  it('refuses hostile project names and bodies with a 400 naming the field, and writes nothing', async () => {
    const before = (await admin('GET', '/v1/projects/limits')).body;
    for (const project of [
      '__proto__',
      '_x',
      'Vision',
      'a%00b',
      'a%0Ab',
      '..%2Fetc',
      'x'.repeat(64),
      'x'.repeat(5000),
      '%E2%80%A8',
      '-a',
    ]) {
      for (const [method, body] of [
        ['GET', undefined],
        ['PATCH', { maxRunning: 3 }],
      ] as const) {
        const res = await admin(method, `/v1/projects/${project}/limits`, body);
        expect({ project, method, status: res.status, field: res.body.errors?.[0]?.field }).toEqual({
          project,
          method,
          status: 400,
          field: 'project',
        });
      }
    }
    const bodies: [unknown, string][] = [
      [{ maxRunning: 0 }, 'maxRunning'],
      [{ maxRunning: -1 }, 'maxRunning'],
      [{ maxRunning: 1.5 }, 'maxRunning'],
      [{ maxRunning: '3' }, 'maxRunning'],
      [{ maxRunning: 100_001 }, 'maxRunning'],
      [{ maxRunning: [3] }, 'maxRunning'],
      [{}, 'maxRunning'],
      [{ maxQueued: 0 }, 'maxQueued'],
      [{ maxQueued: 1_000_001 }, 'maxQueued'],
      [{ maxQueued: 2.5 }, 'maxQueued'],
      [{ maxRunning: 2, maxQueued: 'many' }, 'maxQueued'],
      [{ maxRunning: 3, extra: 1 }, 'extra'],
      [{ maxUploadBytes: -1 }, 'maxUploadBytes'],
      [{ maxUploadBytes: 1.5 }, 'maxUploadBytes'],
      [{ maxUploadBytes: '1GiB' }, 'maxUploadBytes'],
      [{ maxUploadBytes: 2 ** 60 }, 'maxUploadBytes'],
      [{ maxUploadBytes: Number.MAX_SAFE_INTEGER + 2 }, 'maxUploadBytes'],
    ];
    for (const [body, field] of bodies) {
      const res = await admin('PATCH', '/v1/projects/vision/limits', body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.body.errors.map((e: any) => e.field)).toContain(field);
    }
    for (const raw of [
      '{"__proto__":{"maxRunning":3}}',
      '{"maxRunning":1e309}',
      '{"maxUploadBytes":1e309}',
      '[]',
      'null',
      '{"maxRunning":3',
      '"3"',
    ]) {
      const res = await call(api.adminKey, 'PATCH', '/v1/projects/vision/limits', undefined, raw);
      expect({ raw, status: res.status }).toEqual({ raw, status: 400 });
    }
    // `constructor` is a well-formed project name: a row keyed by it, nothing inherited.
    expect((await admin('GET', '/v1/projects/constructor/limits')).body).toMatchObject({
      project: 'constructor',
      maxRunning: null,
    });
    expect(({} as any).maxRunning).toBeUndefined();
    expect((await admin('GET', '/v1/projects/limits')).body).toEqual(before);
  });
});

/** An API not given PROJECT_MAX_RUNNING: the default is what the live workers registered. */
describe('project limits without PROJECT_MAX_RUNNING on the API (PostgreSQL, HTTP)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.stop();
  });
  const get = async (path: string) => (await api.fetch(`${api.baseUrl}${path}`)).json() as Promise<any>;

  it("takes the live workers' PROJECT_MAX_RUNNING as the default while they agree, and says when they do not", async () => {
    const workers = api.app.get(WorkersRepository);
    const register = (id: string, projectMaxRunning: number | null) =>
      workers.register({ id, hostname: id, pid: 1, backend: 'wasm', gpu: null, concurrency: 1, projectMaxRunning });
    expect(await get('/v1/projects/vision/limits')).toMatchObject({
      defaultMaxRunning: null,
      workersMaxRunning: [],
      effectiveMaxRunning: null,
    });
    await register('w-three', 3);
    await register('w-three-too', 3);
    expect(await get('/v1/projects/vision/limits')).toMatchObject({
      defaultMaxRunning: 3,
      workersMaxRunning: [3],
      effectiveMaxRunning: 3,
    });
    const run = await api.submitPretrain('waits');
    expect((await get(`/v1/runs/${run}/queue`)).projectLimit).toEqual({
      project: 'default',
      running: 0,
      limit: 3,
      source: 'default',
    });

    // One worker with another value, one with none: no single default; each value listed once.
    await register('w-five', 5);
    await register('w-none', null);
    expect(await get('/v1/projects/limits')).toEqual({
      defaultMaxRunning: null,
      workersMaxRunning: [3, 5, null],
      defaultMaxQueued: 1000,
      defaultMaxPriority: 100,
      defaultMaxUploadBytes: 53_687_091_200,
      items: [],
    });
    expect((await get(`/v1/runs/${run}/queue`)).projectLimit).toBeNull();
    // A stopped worker no longer counts.
    for (const id of ['w-five', 'w-none']) await workers.stop(id);
    expect((await get('/v1/projects/vision/limits')).workersMaxRunning).toEqual([3]);
  });
});
