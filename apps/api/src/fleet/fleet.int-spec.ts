import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Worker } from 'bullmq';
import type { QueueList, RunQueueView, WorkerList } from '@trainyard/contracts';
import { AttemptsRepository, WorkersRepository, type Database } from '@trainyard/db';
import { startTestApi, type TestApi } from '../testing/test-api';
import { DATABASE } from '@trainyard/infrastructure';

/** Queue depths, the workers table and drains, over HTTP on the real PostgreSQL and Redis. */
describe('queues, workers and drains (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let app: INestApplication;
  let baseUrl: string;

  beforeAll(async () => {
    api = await startTestApi();
    ({ app, baseUrl } = api);
  });

  afterAll(async () => {
    await api?.stop();
  });

  const submit = (name: string): Promise<string> => api.submitPretrain(name);

  it('reports queue depths by state and workers with backend, GPU, heartbeat and state', async () => {
    await submit('waiting');
    const queues = (await (await api.fetch(`${baseUrl}/v1/queues`)).json()) as {
      queues: { name: string; resourceClass: string; counts: Record<string, number>; waitingRuns: number }[];
    };
    // One queue per resource class; the run (no resources given) is in the `any` class's, prioritized.
    expect(queues.queues.map((q) => [q.resourceClass, q.name])).toEqual([
      ['any', api.queueName],
      ['cpu', `${api.queueName}-cpu`],
      ['gpu', `${api.queueName}-gpu`],
    ]);
    expect(queues.queues[0]).toMatchObject({
      counts: expect.objectContaining({ prioritized: 1, waiting: 0, active: 0 }),
      waitingRuns: 1,
    });

    const workers = new WorkersRepository(app.get<Database>(DATABASE).prisma);
    await workers.register({
      id: 'w-gpu',
      hostname: 'node-1',
      pid: 1,
      backend: 'tensorflow-gpu',
      gpu: 'NVIDIA H200',
      gpuCount: 2,
      gpuMemoryMb: 143771,
      resourceClasses: ['gpu', 'any'],
      memoryMb: 2_000_000,
      concurrency: 2,
    });
    await workers.register({ id: 'w-old', hostname: 'node-2', pid: 2, backend: 'wasm', gpu: null, concurrency: 1 });
    await workers.stop('w-old');
    const body = (await (await api.fetch(`${baseUrl}/v1/workers`)).json()) as WorkerList;
    expect(
      body.workers.map((w) => [
        w.id,
        w.state,
        w.gpu,
        w.gpuCount,
        w.gpuMemoryMb,
        w.resourceClasses,
        w.memoryMb,
        w.concurrency,
      ]),
    ).toEqual([
      ['w-gpu', 'alive', 'NVIDIA H200', 2, 143771, ['gpu', 'any'], 2_000_000, 2],
      // Registered without classes (a worker of the previous release): the any class's queue only.
      ['w-old', 'stopped', null, 0, null, ['any'], null, 1],
    ]);
  });

  it('drains a worker (admin only): draining at once, the order in its heartbeat, drained once idle, and taken back', async () => {
    const workers = new WorkersRepository(app.get<Database>(DATABASE).prisma);
    const id = `node-3-77-${randomUUID().slice(0, 8)}`;
    await workers.register({ id, hostname: 'node-3', pid: 77, backend: 'tensorflow', gpu: null, concurrency: 1 });
    const drain = (body?: unknown, headers: Record<string, string> = {}, workerId = id) =>
      api.fetch(`${baseUrl}/v1/workers/${encodeURIComponent(workerId)}/drain`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: body === undefined || typeof body === 'string' ? body : JSON.stringify(body),
      });
    const stateOf = async () =>
      (
        (await (await api.fetch(`${baseUrl}/v1/workers`)).json()) as {
          workers: { id: string; state: string; drainMode: string | null }[];
        }
      ).workers.find((w) => w.id === id);

    expect(await workers.heartbeat(id)).toBeNull();
    const res = await drain();
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ id, state: 'draining', drainMode: 'preempt' });
    expect(await workers.heartbeat(id)).toMatchObject({ mode: 'preempt', requestedAt: expect.any(Date) });
    // A second request never softens a preempt into a finish.
    expect((await drain({ mode: 'finish' })).status).toBe(202);
    expect(await stateOf()).toMatchObject({ state: 'draining', drainMode: 'preempt' });
    await workers.markDrained(id);
    expect(await stateOf()).toMatchObject({ state: 'drained' });

    const undrain = await api.fetch(`${baseUrl}/v1/workers/${id}/drain`, { method: 'DELETE' });
    expect(undrain.status).toBe(200);
    expect(await undrain.json()).toMatchObject({ id, state: 'alive', drainMode: null, drainedAt: null });
    expect(await workers.heartbeat(id)).toBeNull();

    // Bad input names the field; an unknown worker is 404 (a stopped one 409, below); only admins drain.
    const bad = await drain({ mode: 'later' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('mode');
    expect((await drain('{"mode":"finish","__proto__":{"admin":true}}')).status).toBe(400);
    expect((await drain({ mode: 'finish', extra: 1 })).status).toBe(400);
    expect((await drain(undefined, {}, 'w\u0000\n-evil')).status).toBe(400);
    expect((await drain(undefined, {}, '../../keys')).status).toBe(400);
    expect((await drain(undefined, {}, `no-such-${randomUUID()}`)).status).toBe(404);
    await workers.stop(id);
    const stopped = await drain();
    expect(stopped.status).toBe(409);
    expect(await stopped.json()).toMatchObject({
      workerState: 'stopped',
      message: expect.stringMatching(
        /^Worker node-3-77-\w+ is stopped \(it stopped itself, .*\); it cannot be drained$/,
      ),
    });
    expect(await stateOf()).toMatchObject({ state: 'stopped' });

    const created = await api.fetch(`${baseUrl}/v1/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'operator without admin', scopes: ['read', 'submit'] }),
    });
    const { token } = (await created.json()) as { token: string };
    const asSubmitter = await fetch(`${baseUrl}/v1/workers/${id}/drain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(asSubmitter.status).toBe(403);
  });

  it("shows a project's key its own project's runs on the fleet only, and lets only operators drain", async () => {
    const prisma = app.get<Database>(DATABASE).prisma;
    const workers = new WorkersRepository(prisma);
    const attempts = new AttemptsRepository(prisma);
    const keyOf = async (project: string, scopes: string[]) => {
      const res = await api.fetch(`${baseUrl}/v1/keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `${project} ${scopes.join(' ')}`, scopes, project }),
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { token: string }).token;
    };
    const [vision, speech, visionAdmin] = [
      await keyOf('vision', ['read', 'submit']),
      await keyOf('speech', ['read', 'submit']),
      await keyOf('vision', ['admin']),
    ];
    const as = (token: string, path: string, init: RequestInit = {}) =>
      fetch(`${baseUrl}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
    const submit = async (token: string, name: string) => {
      const res = await as(token, '/v1/runs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'pretrain', name, dataset: { name: 'synthetic-shapes' } }),
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { id: string }).id;
    };
    // Only this test's jobs in line (the first test left one).
    await api.queue.drain();
    const [ours, theirs] = [await submit(vision, 'ours'), await submit(speech, 'theirs')];
    // Both taken by a worker: their jobs active in BullMQ, their attempts RUNNING on it.
    const id = `node-4-5-${randomUUID().slice(0, 8)}`;
    await workers.register({ id, hostname: 'node-4', pid: 5, backend: 'wasm', gpu: null, concurrency: 2 });
    const taker = new Worker(api.queueName, null, { connection: api.queue.opts.connection });
    try {
      expect((await taker.getNextJob('t1'))?.id).toBe(ours);
      expect((await taker.getNextJob('t2'))?.id).toBe(theirs);
    } finally {
      await taker.close();
    }
    for (const run of [ours, theirs]) await attempts.openCurrent(run, id);

    const activeSeenBy = async (token: string) =>
      ((await (await as(token, '/v1/queues')).json()) as QueueList).queues.flatMap((q) => q.active.map((a) => a.runId));
    const runningSeenBy = async (token: string) =>
      ((await (await as(token, '/v1/workers')).json()) as WorkerList).workers
        .find((w) => w.id === id)!
        .running.map((r) => r.runId);
    expect((await activeSeenBy(api.adminKey)).sort()).toEqual([ours, theirs].sort());
    expect((await runningSeenBy(api.adminKey)).sort()).toEqual([ours, theirs].sort());
    expect(await activeSeenBy(vision)).toEqual([ours]);
    expect(await runningSeenBy(vision)).toEqual([ours]);
    expect(await activeSeenBy(speech)).toEqual([theirs]);
    expect(await runningSeenBy(speech)).toEqual([theirs]);
    // The depths are numbers for the whole fleet, the same for every key.
    const counts = async (token: string) =>
      ((await (await as(token, '/v1/queues')).json()) as QueueList).queues[0]!.counts;
    expect(await counts(vision)).toEqual(await counts(api.adminKey));

    // The fleet is shared: a project's own admin key neither drains a worker nor takes a drain back.
    for (const method of ['POST', 'DELETE']) {
      const res = await as(visionAdmin, `/v1/workers/${id}/drain`, { method });
      expect(res.status).toBe(403);
      expect(JSON.stringify(await res.json())).toContain('Authorization');
    }
    expect(await workers.heartbeat(id)).toBeNull();
  });

  it('answers a drain of a lost or stopped worker with 409 naming its state, changing nothing', async () => {
    const prisma = app.get<Database>(DATABASE).prisma;
    const workers = new WorkersRepository(prisma);
    const id = `node-5-9-${randomUUID().slice(0, 8)}`;
    await workers.register({ id, hostname: 'node-5', pid: 9, backend: 'wasm', gpu: null, concurrency: 1 });
    // Killed outright (kill -9): no heartbeat for longer than 3 intervals.
    const silentSince = new Date(Date.now() - api.config.worker.lostAfterMs - 60_000);
    await prisma.worker.update({ where: { id }, data: { lastHeartbeatAt: silentSince } });
    const post = (path: string, method = 'POST') => api.fetch(`${baseUrl}/v1/workers/${id}/${path}`, { method });

    const lost = await post('drain');
    expect(lost.status).toBe(409);
    expect(await lost.json()).toMatchObject({
      status: 409,
      workerState: 'lost',
      message: expect.stringContaining(`Worker ${id} is lost (no heartbeat since ${silentSince.toISOString()})`),
    });
    const row = await prisma.worker.findUniqueOrThrow({ where: { id } });
    expect(row.drainRequestedAt).toBeNull();

    // Retired by the fleet (WORKER_LOST_RETIRE_MS later): stopped, and it says how it ended.
    await workers.retireLost(api.config.worker.lostAfterMs, 0);
    const retired = await post('drain');
    expect(retired.status).toBe(409);
    expect(await retired.json()).toMatchObject({
      workerState: 'stopped',
      message: expect.stringContaining('is stopped (retired after it was lost'),
    });
    const undrain = await post('drain', 'DELETE');
    expect(undrain.status).toBe(409);
    expect(await undrain.json()).toMatchObject({ workerState: 'stopped' });
    const shown = ((await (await api.fetch(`${baseUrl}/v1/workers`)).json()) as WorkerList).workers.find(
      (w) => w.id === id,
    );
    expect(shown).toMatchObject({ state: 'stopped', stopReason: 'lost', drainRequestedAt: null });
  });

  it('says how many of the workers serving a waiting run are draining or drained (still live for the submit check)', async () => {
    const workers = new WorkersRepository(app.get<Database>(DATABASE).prisma);
    const ids = [`cpu-a-${randomUUID().slice(0, 8)}`, `cpu-b-${randomUUID().slice(0, 8)}`];
    for (const id of ids)
      await workers.register({
        id,
        hostname: 'cpu',
        pid: 1,
        backend: 'wasm',
        gpu: null,
        resourceClasses: ['cpu'],
        concurrency: 1,
      });
    const queueOf = async (runId: string) =>
      (await (await api.fetch(`${baseUrl}/v1/runs/${runId}/queue`)).json()) as RunQueueView;
    try {
      for (const id of ids) {
        expect((await api.fetch(`${baseUrl}/v1/workers/${id}/drain`, { method: 'POST' })).status).toBe(202);
        await workers.markDrained(id);
      }
      // Every cpu worker drained: the submit check still counts them (a drain may be taken back)...
      const submitted = await api.fetch(`${baseUrl}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          kind: 'pretrain',
          name: 'waits for an undrain',
          dataset: { name: 'synthetic-shapes' },
          resources: { accelerator: 'cpu' },
        }),
      });
      expect(submitted.status).toBe(201);
      const { id: runId } = (await submitted.json()) as { id: string };
      // ...and the queue view says they take nothing now.
      expect(await queueOf(runId)).toMatchObject({ resourceClass: 'cpu', servingWorkers: 2, drainingWorkers: 2 });
      expect((await api.fetch(`${baseUrl}/v1/workers/${ids[0]}/drain`, { method: 'DELETE' })).status).toBe(200);
      expect(await queueOf(runId)).toMatchObject({ servingWorkers: 2, drainingWorkers: 1 });
    } finally {
      for (const id of ids) await workers.stop(id);
    }
  });
});
