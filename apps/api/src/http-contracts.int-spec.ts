import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestMethod, type INestApplication, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { Worker } from 'bullmq';
import { HTTP_CONTRACTS, ProblemDetailsSchema, RunEventSchema, type RunLogLine } from '@trainyard/contracts';
import {
  AttemptsRepository,
  CheckpointsRepository,
  MetricsRepository,
  openDatabase,
  RunsRepository,
  WorkersRepository,
  type Database,
} from '@trainyard/db';
import { serverSentEvents } from '@trainyard/db/testing';
import { createObjectStore, runLogChunkKey, type ObjectStore } from '@trainyard/storage';
import { RESPONSE_CONTRACT, type ResponseContract } from './openapi/response-contract';
import { enumerateRoutes, type HttpRoute } from './security/hostile-requests';
import { startTestApi, TEST_REDIS, type TestApi } from './testing/test-api';
import { tarOf } from './testing/tar-of';
import { tinySpecs } from './testing/tiny-specs';

/** Served by SwaggerModule on the Express app itself, outside Nest's controllers. */
const SWAGGER_ROUTES = /^\/docs(?:-json|-yaml)?(?:\/|$)/;
const { pretrain, finetune } = tinySpecs();

/** `GET /v1/runs/:id` for the route of `GET /v1/runs/3f…`. */
function routeOf(routes: HttpRoute[], method: string, path: string): HttpRoute | undefined {
  const pathname = path.split('?')[0]!;
  return routes.find(
    (route) => route.method === method && new RegExp(`^${route.path.replace(/:\w+/g, '[^/]+')}$`).test(pathname),
  );
}

/** Every controller route of the app with the response contract its handler declares (undefined: none). */
function declaredContracts(app: INestApplication): Map<string, ResponseContract | undefined> {
  const declared = new Map<string, ResponseContract | undefined>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type;
      const base = [Reflect.getMetadata(PATH_METADATA, controller) as string | undefined];
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        const segments = [...base, Reflect.getMetadata(PATH_METADATA, handler) as string]
          .flatMap((s) => (s ?? '').split('/'))
          .filter(Boolean);
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
        declared.set(
          `${method} /${segments.join('/')}`,
          Reflect.getMetadata(RESPONSE_CONTRACT, handler) as ResponseContract | undefined,
        );
      }
    }
  }
  return declared;
}

/**
 * Every route's real answer against its contract (libs/contracts/src/http), over HTTP against
 * real PostgreSQL, Redis and the local object store. The routes are read from the running app, so
 * a new route fails here until its handler declares what it answers (`@Responds`, or
 * `@RespondsWithoutJson` for a stream, file or page) and this test has called it. Views are strict:
 * a field the contract does not name, or one it names and the answer lacks, fails the parse.
 */
describe('HTTP contracts: every route answers what its contract says (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let db: Database;
  let store: ObjectStore;
  let localRoot: string;
  let routes: HttpRoute[];
  let declared: Map<string, ResponseContract | undefined>;
  /** Routes whose 2xx answer was parsed by their contract. */
  const checked = new Set<string>();
  /** Routes whose error answer was parsed as problem details. */
  const problems = new Set<string>();

  beforeAll(async () => {
    localRoot = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-contracts-')));
    api = await startTestApi({ openApi: true, env: { TRAINYARD_LOCAL_ROOTS: localRoot } });
    db = await openDatabase({ url: api.config.database.url, embeddedPath: '' });
    store = await createObjectStore(api.config.storage);
    routes = enumerateRoutes(api.app).filter((route) => !SWAGGER_ROUTES.test(route.path));
    declared = declaredContracts(api.app);
  });
  afterAll(async () => {
    await db?.close();
    await api?.stop();
    if (localRoot) rmSync(localRoot, { recursive: true, force: true });
  });

  /** Calls a route and parses its answer with the route's contract; returns the parsed body. */
  async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const route = routeOf(routes, method, path);
    if (!route) throw new Error(`No route answers ${method} ${path}`);
    const id = `${route.method} ${route.path}`;
    const contract = declared.get(id);
    if (!contract || !('contract' in contract)) throw new Error(`${id} declares no JSON contract`);
    // A Buffer goes as it is (a dataset's tar, with its own content-type header), anything else as JSON.
    const raw = Buffer.isBuffer(body);
    const res = await api.fetch(`${api.baseUrl}${path}`, {
      method,
      headers: { ...(body === undefined || raw ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
    });
    const text = await res.text();
    expect({ route: id, status: res.status, type: res.headers.get('content-type') }).toEqual({
      route: id,
      status: contract.status,
      type: expect.stringMatching(/^application\/json/),
    });
    const parsed = HTTP_CONTRACTS[contract.contract].safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new Error(
        `${id} answered what ${contract.contract} does not allow:\n${parsed.error.message}\n${text.slice(0, 2000)}`,
      );
    checked.add(id);
    return parsed.data as T;
  }

  /**
   * The first event of `GET /v1/runs/:id/events` (the status snapshot), its data parsed with
   * RunEventSchema: the route is not JSON, but each event's data is a contract too.
   */
  async function firstRunEvent(runId: string): Promise<void> {
    const abort = new AbortController();
    const res = await api.fetch(`${api.baseUrl}/v1/runs/${runId}/events`, { signal: abort.signal });
    try {
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const { value: event } = await serverSentEvents(res).next();
      expect(event?.event).toBe('status');
      const parsed = RunEventSchema.safeParse(JSON.parse(event!.data));
      if (!parsed.success)
        throw new Error(
          `GET /v1/runs/:id/events sent what RunEvent does not allow:\n${parsed.error.message}\n${event!.data}`,
        );
    } finally {
      abort.abort();
    }
  }

  /** Calls a route that must fail, and parses its answer as problem details. */
  async function problem(method: string, path: string, status: number, body?: unknown): Promise<void> {
    const route = routeOf(routes, method, path)!;
    const res = await api.fetch(`${api.baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect({ route: `${method} ${path}`, status: res.status, type: res.headers.get('content-type') }).toEqual({
      route: `${method} ${path}`,
      status,
      type: expect.stringMatching(/^application\/problem\+json/),
    });
    const parsed = ProblemDetailsSchema.safeParse(await res.json());
    if (!parsed.success)
      throw new Error(`${method} ${path} answered a problem ProblemDetails does not allow: ${parsed.error.message}`);
    problems.add(`${route.method} ${route.path}`);
  }

  it('finds a declared answer for every route of the app', () => {
    expect(routes.length).toBeGreaterThan(30);
    const undeclared = routes
      .map((route) => `${route.method} ${route.path}`)
      .filter((id) => declared.get(id) === undefined);
    expect(undeclared).toEqual([]);
  });

  it("parses every JSON route's answer with its contract", async () => {
    const runs = new RunsRepository(db.prisma);
    const attempts = new AttemptsRepository(db.prisma);
    const metrics = new MetricsRepository(db.prisma);
    const checkpoints = new CheckpointsRepository(db.prisma);
    const workers = new WorkersRepository(db.prisma);

    await call('GET', '/healthz');
    await call('GET', '/readyz');
    const me = await call<{ keyId: string }>('GET', '/v1/whoami');
    await call('POST', '/v1/session', { key: api.adminKey });

    // A worker holds the first run's job, so the queue shows an active job with its progress.
    const progress = {
      phase: 'training',
      epoch: 1,
      epochs: 1,
      step: 3,
      stepsPerEpoch: 4,
      loss: 0.5,
      imagesPerSec: 10,
      etaSeconds: 2,
      updatedAt: new Date().toISOString(),
    };
    let release = () => undefined as void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const worker = new Worker(
      api.queueName,
      async (job) => {
        await job.updateProgress(progress);
        await held;
      },
      { connection: TEST_REDIS, concurrency: 1 },
    );
    try {
      const { id: runId } = await call<{ id: string }>('POST', '/v1/runs', pretrain('contracts: trained'), {
        'idempotency-key': randomUUID(),
      });
      for (let i = 0; i < 100 && (await api.queue.getActiveCount()) === 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 200)); // the progress report lands
      const queues = await call<{ queues: { active: unknown[] }[] }>('GET', '/v1/queues');
      expect(queues.queues[0]!.active).toHaveLength(1);

      // What a worker records while training, through the repositories it uses.
      await workers.register({
        id: `contracts-${process.pid}-0000abcd`,
        hostname: 'contracts',
        pid: process.pid,
        backend: 'cpu',
        gpu: null,
        concurrency: 1,
      });
      const { attempt } = await attempts.openCurrent(runId, `contracts-${process.pid}-0000abcd`);
      await runs.markRunning(runId, 'cpu');
      await runs.updateProgress(runId, progress as never);
      const wallTime = new Date();
      await metrics.write(runId, attempt.id, [
        { name: 'loss', step: 1, epoch: 1, value: 0.9, wallTime },
        { name: 'loss', step: 2, epoch: 1, value: Number.NaN, wallTime },
        { name: 'val_loss', step: 2, epoch: 1, value: 0.7, wallTime },
      ]);
      const prefix = `runs/${runId}/checkpoints/1/`;
      await store.put(`${prefix}autoencoder/model.json`, Buffer.from('{}'));
      await checkpoints.recordComplete(
        { runId, attemptId: attempt.id },
        {
          sequence: 1,
          epoch: 1,
          step: 2,
          uri: store.uri(prefix),
          models: ['autoencoder', 'encoder'],
          bytes: 2,
          sha256: 'f'.repeat(64),
          reason: 'final',
          metric: { name: 'val_loss', value: 0.7 },
        },
      );
      const line: RunLogLine = {
        t: new Date().toISOString(),
        level: 'log',
        source: 'worker',
        attempt: 1,
        jobId: runId,
        msg: 'started',
      };
      await store.put(runLogChunkKey(runId, { attempt: 1, sequence: 1 }), Buffer.from(`${JSON.stringify(line)}\n`));

      await call('GET', '/v1/workers');
      await call('POST', `/v1/workers/contracts-${process.pid}-0000abcd/drain`, { mode: 'finish' });
      await call('DELETE', `/v1/workers/contracts-${process.pid}-0000abcd/drain`);
      await call('GET', `/v1/runs/${runId}`);
      await call('GET', `/v1/runs/${runId}/series?maxPoints=10`);
      await call('GET', `/v1/runs/${runId}/metrics`);
      await call('GET', `/v1/runs/${runId}/checkpoints`);
      await call('GET', `/v1/runs/${runId}/queue`);
      const files = await call<{ files: { file: string }[] }>('GET', `/v1/runs/${runId}/checkpoints/1/files`);
      expect(files.files.map((f) => f.file)).toEqual(['autoencoder/model.json']);
      const logs = await call<{ lines: unknown[] }>('GET', `/v1/runs/${runId}/logs`);
      expect(logs.lines).toHaveLength(1);
      await firstRunEvent(runId);

      await runs.finish(runId, 'SUCCEEDED', { result: { split: 'test', samples: 8, mse: 0.01 } });
      const page = await call<{ items: { id: string }[] }>('GET', '/v1/runs?limit=5');
      expect(page.items.map((r) => r.id)).toContain(runId);
      await call('GET', `/v1/runs/compare?ids=${runId}&names=loss,val_loss`);
      await call('POST', '/v1/models', { name: 'contracts-model', runId });
      await call('GET', '/v1/models/contracts-model/versions');
      const models = await call<{ items: { name: string; versions: { runId: string }[] }[] }>(
        'GET',
        '/v1/models?limit=5',
      );
      expect(models.items.map((m) => [m.name, m.versions[0]!.runId])).toEqual([['contracts-model', runId]]);
      await call('POST', '/v1/models', { name: 'contracts-model', runId });
      await call('DELETE', '/v1/models/contracts-model/versions/2');

      const { id: queued } = await call<{ id: string }>('POST', '/v1/runs', pretrain('contracts: cancelled'));
      await call('POST', `/v1/runs/${queued}/cancel`);
      await call('PATCH', `/v1/runs/${queued}`, {
        name: 'contracts: renamed',
        tags: ['contracts'],
        notes: '# Notes\n\n- one',
      });
      await call('POST', `/v1/runs/${queued}/archive`);
      await call('POST', `/v1/runs/${queued}/unarchive`);
      await call('DELETE', `/v1/runs/${queued}?dryRun=true`);
      await call('DELETE', `/v1/runs/${queued}`);

      const pipeline = await call<{ id: string }>('POST', '/v1/pipelines', {
        name: 'contracts',
        pretrain: pretrain('contracts: ae'),
        finetunes: [finetune('contracts: ft')],
      });
      await call('GET', `/v1/pipelines/${pipeline.id}`);
      const pipelines = await call<{ items: { id: string; steps: number }[] }>('GET', '/v1/pipelines?limit=5');
      expect(pipelines.items.map((p) => [p.id, p.steps])).toEqual([[pipeline.id, 2]]);
      await call('POST', `/v1/pipelines/${pipeline.id}/cancel`);

      const sweep = await call<{ id: string }>('POST', '/v1/sweeps', {
        name: 'contracts',
        base: finetune('contracts: sweep'),
        strategy: 'grid',
        parameters: { 'training.learningRate': [0.001, 0.01] },
      });
      await call('GET', `/v1/sweeps/${sweep.id}`);
      const sweeps = await call<{ items: { id: string; runs: number }[] }>('GET', '/v1/sweeps');
      expect(sweeps.items.map((s) => [s.id, s.runs])).toEqual([[sweep.id, 2]]);
      await call('POST', `/v1/sweeps/${sweep.id}/cancel`);
    } finally {
      release();
      await worker.close();
    }

    const folder = join(localRoot, 'pets');
    for (const file of ['cat/1.png', 'dog/1.png']) {
      mkdirSync(join(folder, file, '..'), { recursive: true });
      writeFileSync(join(folder, file), 'x');
    }
    const dataset = await call<{ id: string }>('POST', '/v1/datasets', {
      name: 'pets',
      location: { kind: 'local', path: folder },
    });
    await call('GET', '/v1/datasets');
    await call('GET', `/v1/datasets/${dataset.id}`);
    await call('PATCH', '/v1/projects/default/limits', { maxRunning: 3 });
    await call('GET', '/v1/projects/default/limits');
    const limited = await call<{ items: { project: string }[] }>('GET', '/v1/projects/limits');
    expect(limited.items.map((p) => p.project)).toEqual(['default']);
    await call('PATCH', '/v1/projects/default/limits', { maxRunning: null });
    const upload = await tarOf([
      // A PNG signature is what an upload checks (it never decodes): enough to be stored.
      ['cat/1.png', Buffer.from('89504e470d0a1a0a78', 'hex')],
      ['dog/1.png', Buffer.from('89504e470d0a1a0a79', 'hex')],
      ['dog/2.png', Buffer.from('x')],
    ]);
    const uploaded = await call<{ id: string }>('POST', '/v1/datasets/uploads?name=uploaded-pets', upload, {
      'content-type': 'application/x-tar',
    });
    await call('DELETE', `/v1/datasets/${uploaded.id}`);
    await call('DELETE', `/v1/datasets/${dataset.id}`);

    const created = await call<{ key: { id: string } }>('POST', '/v1/keys', { name: 'contracts', scopes: ['read'] });
    await call('GET', '/v1/keys');
    await call('DELETE', `/v1/keys/${created.key.id}`);
    expect(me.keyId).not.toBe(created.key.id);

    const unchecked = routes
      .map((route) => `${route.method} ${route.path}`)
      .filter((id) => {
        const contract = declared.get(id);
        return contract !== undefined && 'contract' in contract && !checked.has(id);
      });
    expect(unchecked).toEqual([]);
  });

  it('answers every refused request as problem details', async () => {
    const unknown = randomUUID();
    await problem('POST', '/v1/runs', 400, { kind: 'pretrain' });
    await problem('GET', '/v1/runs?sort=bogus', 400);
    await problem('GET', `/v1/runs/${unknown}`, 404);
    await problem('GET', '/v1/runs/not-an-id', 400);
    await problem('GET', `/v1/runs/${unknown}/series`, 404);
    await problem('GET', `/v1/runs/${unknown}/queue`, 404);
    await problem('GET', `/v1/runs/${unknown}/checkpoints/1/files`, 404);
    await problem('POST', `/v1/runs/${unknown}/cancel`, 404);
    await problem('PATCH', `/v1/runs/${unknown}`, 400, { tags: ['Not A Tag'] });
    await problem('DELETE', `/v1/runs/${unknown}`, 404);
    await problem('GET', `/v1/runs/compare?ids=${unknown}`, 404);
    await problem('GET', `/v1/pipelines/${unknown}`, 404);
    await problem('GET', '/v1/pipelines?limit=1000', 400);
    await problem('GET', '/v1/sweeps?cursor=not*a*cursor', 400);
    await problem('GET', '/v1/models?limit=0', 400);
    await problem('GET', `/v1/datasets/${unknown}/samples/0/0`, 404);
    await problem('GET', `/v1/runs/${unknown}/checkpoints/1/archive`, 404);
    await problem('GET', `/v1/sweeps/${unknown}`, 404);
    await problem('POST', `/v1/sweeps/${unknown}/cancel`, 404);
    await problem('GET', `/v1/datasets/${unknown}`, 404);
    await problem('GET', '/v1/models/nothing-by-this-name/versions', 404);
    await problem('POST', '/v1/models', 422, { name: 'm', runId: unknown });
    await problem('DELETE', `/v1/datasets/${unknown}`, 404);
    await problem('DELETE', '/v1/models/nothing-by-this-name/versions/1', 404);
    await problem('DELETE', `/v1/keys/${unknown}`, 404);
    await problem('POST', '/v1/workers/nobody/drain', 404);
    expect(problems.size).toBeGreaterThanOrEqual(14);
  });
});
