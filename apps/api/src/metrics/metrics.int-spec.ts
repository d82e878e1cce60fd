import { randomUUID } from 'node:crypto';
import { RunsRepository, WorkersRepository, type Database } from '@trainyard/db';
import { startTestApi, type TestApi } from '../testing/test-api';
import { DATABASE } from '@trainyard/infrastructure';

/** Short, so the test waits for a fresh count of ended runs, counted in the background, in seconds (60 s by default). */
const ENDED_MAX_AGE_MS = 1500;

/** `GET /metrics` over HTTP, its fleet gauges read from the real Redis and PostgreSQL. */
describe('Prometheus /metrics (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ env: { METRICS_ENDED_RUNS_MAX_AGE_MS: String(ENDED_MAX_AGE_MS) } });
  });
  afterAll(async () => {
    await api?.stop();
  });

  const scrape = async () => {
    const res = await api.fetch(`${api.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };
  /** The value of one series, e.g. `trainyard_runs{status="QUEUED",kind="PRETRAIN"}`. */
  const value = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('reports runs by status and kind, zeros included, and the queue depth they make', async () => {
    const before = await scrape();
    expect(value(before, 'trainyard_runs{status="QUEUED",kind="PRETRAIN"}')).toBe(0);
    expect(value(before, 'trainyard_runs{status="SUCCEEDED",kind="EVALUATE"}')).toBe(0);
    expect(value(before, `trainyard_queue_jobs{queue="${api.queueName}",class="any",state="prioritized"}`)).toBe(0);
    expect(value(before, `trainyard_queue_jobs{queue="${api.queueName}-gpu",class="gpu",state="prioritized"}`)).toBe(0);
    expect(value(before, 'trainyard_runs_waiting{class="any"}')).toBe(0);
    expect(value(before, 'trainyard_queue_oldest_wait_seconds{class="gpu"}')).toBe(0);

    for (const name of ['a', 'b']) {
      const res = await api.fetch(`${api.baseUrl}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'pretrain', name, dataset: { name: 'synthetic-shapes' } }),
      });
      expect(res.status).toBe(201);
    }
    const after = await scrape();
    expect(value(after, 'trainyard_runs{status="QUEUED",kind="PRETRAIN"}')).toBe(2);
    // Every job has a priority: prioritized, not waiting.
    expect(value(after, `trainyard_queue_jobs{queue="${api.queueName}",class="any",state="prioritized"}`)).toBe(2);
    expect(value(after, `trainyard_queue_jobs{queue="${api.queueName}",class="any",state="waiting"}`)).toBe(0);
    expect(value(after, 'trainyard_runs_waiting{class="any"}')).toBe(2);
    expect(value(after, 'trainyard_runs_waiting{class="cpu"}')).toBe(0);
    expect(value(after, 'trainyard_queue_oldest_wait_seconds{class="any"}')).toBeGreaterThanOrEqual(0);
  });

  it('reports the projects with a limit of their own, their runs training and waiting, and drops a removed one', async () => {
    const patch = (project: string, maxRunning: number | null) =>
      api.fetch(`${api.baseUrl}/v1/projects/${project}/limits`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ maxRunning }),
      });
    expect((await scrape()).split('\n').filter((l) => l.startsWith('trainyard_project_'))).toEqual([]);
    expect((await patch('default', 4)).status).toBe(200);
    expect((await patch('vision', 1)).status).toBe(200);
    const quota = await api.fetch(`${api.baseUrl}/v1/projects/audio/limits`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ maxQueued: 50, maxPriority: 0, maxUploadBytes: 1_000_000 }),
    });
    expect(quota.status).toBe(200);
    // An uploaded dataset of audio's: what its upload quota counts.
    await api.app.get<Database>(DATABASE).prisma.dataset.create({
      data: {
        id: randomUUID(),
        name: 'clips',
        project: 'audio',
        location: { kind: 's3', prefix: `datasets/uploads/${randomUUID()}/` },
        uri: 's3://bucket/clips/',
        classNames: ['a', 'b'],
        counts: [1, 1],
        uploadedBytes: 3_000_000_000n,
      },
    });
    const limited = await scrape();
    expect(value(limited, 'trainyard_project_max_running{project="default"}')).toBe(4);
    expect(value(limited, 'trainyard_project_max_running{project="vision"}')).toBe(1);
    // The first test's two runs wait in the default project.
    expect(value(limited, 'trainyard_project_runs{project="default",state="waiting"}')).toBe(2);
    expect(value(limited, 'trainyard_project_runs{project="default",state="running"}')).toBe(0);
    expect(value(limited, 'trainyard_project_runs{project="vision",state="waiting"}')).toBe(0);
    // A project with only a queued quota of its own has that series and no running limit.
    expect(value(limited, 'trainyard_project_max_queued{project="audio"}')).toBe(50);
    expect(value(limited, 'trainyard_project_max_running{project="audio"}')).toBeUndefined();
    expect(value(limited, 'trainyard_project_max_queued{project="default"}')).toBeUndefined();
    expect(value(limited, 'trainyard_project_max_priority{project="audio"}')).toBe(0);
    expect(value(limited, 'trainyard_project_max_priority{project="vision"}')).toBeUndefined();
    expect(value(limited, 'trainyard_project_max_upload_bytes{project="audio"}')).toBe(1_000_000);
    expect(value(limited, 'trainyard_project_max_upload_bytes{project="vision"}')).toBeUndefined();
    expect(value(limited, 'trainyard_project_uploaded_bytes{project="audio"}')).toBe(3_000_000_000);
    expect(value(limited, 'trainyard_project_uploaded_bytes{project="vision"}')).toBeUndefined();
    // The first test's runs are the default project's, with no checkpoint yet: no series.
    expect(value(limited, 'trainyard_project_checkpoint_bytes{project="default"}')).toBeUndefined();
    const [first] = await api.app
      .get<Database>(DATABASE)
      .prisma.run.findMany({ where: { project: 'default' }, take: 1 });
    await api.app.get<Database>(DATABASE).prisma.checkpoint.create({
      data: {
        runId: first!.id,
        sequence: 1,
        epoch: 1,
        step: 1,
        uri: 's3://bucket/c/',
        bytes: 6_000_000_000n,
        sha256: 'a'.repeat(64),
        status: 'COMPLETE',
        models: ['autoencoder'],
      },
    });
    expect(value(await scrape(), 'trainyard_project_checkpoint_bytes{project="default"}')).toBe(6_000_000_000);

    expect((await patch('vision', null)).status).toBe(200);
    const removed = await scrape();
    expect(value(removed, 'trainyard_project_max_running{project="vision"}')).toBeUndefined();
    expect(value(removed, 'trainyard_project_runs{project="vision",state="running"}')).toBeUndefined();
    expect(value(removed, 'trainyard_project_max_running{project="default"}')).toBe(4);
    await patch('default', null);
  });

  it('counts workers alive, draining, drained, lost (silent for 3 heartbeat intervals) and stopped', async () => {
    const { prisma } = api.app.get<Database>(DATABASE);
    const workers = new WorkersRepository(prisma);
    const [alive, draining, drained, lost, stopped] = ['alive', 'draining', 'drained', 'lost', 'stopped'].map(
      (state) => `${state}-${randomUUID()}`,
    );
    for (const id of [alive!, draining!, drained!, lost!, stopped!])
      await workers.register({ id, hostname: 'gpu-1', pid: 1, backend: 'wasm', gpu: null, concurrency: 1 });
    await workers.stop(stopped!);
    await workers.requestDrain(draining!, 'preempt');
    await workers.requestDrain(drained!, 'finish');
    await workers.markDrained(drained!);
    const silentFor = api.config.worker.lostAfterMs + 1000;
    await prisma.worker.update({ where: { id: lost! }, data: { lastHeartbeatAt: new Date(Date.now() - silentFor) } });

    const text = await scrape();
    const counts = ['alive', 'draining', 'drained', 'lost', 'stopped'].map((state) =>
      value(text, `trainyard_workers{state="${state}"}`),
    );
    expect(counts).toEqual([1, 1, 1, 1, 1]);
    // The gauge and the fleet page apply one rule.
    const fleet = (await (await api.fetch(`${api.baseUrl}/v1/workers`)).json()) as { workers: { state: string }[] };
    expect(
      ['alive', 'draining', 'drained', 'lost', 'stopped'].map(
        (state) => fleet.workers.filter((w) => w.state === state).length,
      ),
    ).toEqual(counts);
  });

  it('times requests by route template and status, never by id', async () => {
    await api.fetch(`${api.baseUrl}/v1/runs/${randomUUID()}`);
    await api.fetch(`${api.baseUrl}/v1/runs/${randomUUID()}`);
    await api.fetch(`${api.baseUrl}/v1/runs/not-a-uuid`);
    const text = await scrape();
    expect(
      value(text, 'trainyard_http_request_duration_seconds_count{method="GET",route="/v1/runs/:id",status_code="404"}'),
    ).toBe(2);
    expect(
      value(text, 'trainyard_http_request_duration_seconds_count{method="GET",route="/v1/runs/:id",status_code="400"}'),
    ).toBe(1);
    expect(
      value(text, 'trainyard_http_request_duration_seconds_count{method="POST",route="/v1/runs",status_code="201"}'),
    ).toBe(2);
    expect(text).not.toMatch(/route="\/v1\/runs\/[0-9a-f]{8}-/);
    // Process metrics come with the API prefix.
    expect(value(text, 'trainyard_api_process_resident_memory_bytes')).toBeGreaterThan(0);
  });
  // Last: it submits runs, which the request counts above would see.
  it('adds runs ended since its count of ended runs at every scrape, and recounts them all every METRICS_ENDED_RUNS_MAX_AGE_MS', async () => {
    const { prisma } = api.app.get<Database>(DATABASE);
    const queued = 'trainyard_runs{status="QUEUED",kind="PRETRAIN"}';
    const succeeded = 'trainyard_runs{status="SUCCEEDED",kind="PRETRAIN"}';
    const failed = 'trainyard_runs{status="FAILED",kind="PRETRAIN"}';
    // The counts run in the background: each step holds the next one until it has scraped what the
    // last base shows (the count itself is the real query).
    const runs = api.app.get(RunsRepository, { strict: false });
    const realCount = runs.countEndedBefore.bind(runs);
    const countEndedBefore = jest.spyOn(runs, 'countEndedBefore');
    /** Holds the API's next count of ended runs until `release()`; `counted` resolves once its base is in use. */
    const holdNextCount = () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const counted = new Promise<void>((resolve) => {
        countEndedBefore.mockImplementationOnce(async (marginMs) => {
          await gate;
          const base = realCount(marginMs);
          const inUse = () => setImmediate(resolve);
          void base.then(inUse, inUse);
          return base;
        });
      });
      return { release, counted };
    };
    const fresh = holdNextCount();
    fresh.release();
    await fresh.counted; // a base counted just now; the next one waits for `next`
    const next = holdNextCount();
    const first = await scrape();
    const ids: string[] = [];
    for (const name of ['c', 'd', 'e']) ids.push(await api.submitPretrain(name));
    await prisma.$executeRaw`UPDATE "runs" SET "status" = 'FAILED', "ended_at" = now() WHERE "id" = ${ids[0]}::uuid`;
    // Stamped ended 20 minutes before it committed: past ENDED_RUNS_LATE_COMMIT_MARGIN_MS (5 minutes).
    await prisma.$executeRaw`
      UPDATE "runs" SET "status" = 'SUCCEEDED', "ended_at" = now() - interval '20 minutes' WHERE "id" = ${ids[1]}::uuid`;

    // At once: the queued run and the one that ended; the one stamped past the margin waits for the next count.
    const soon = await scrape();
    expect(value(soon, queued)).toBe(value(first, queued)! + 1);
    expect(value(soon, failed)).toBe(value(first, failed)! + 1);
    expect(value(soon, succeeded)).toBe(value(first, succeeded));
    next.release();
    await next.counted;
    const later = await scrape();
    expect(value(later, succeeded)).toBe(value(first, succeeded)! + 1);
    expect(value(later, failed)).toBe(value(first, failed)! + 1);
    expect(value(later, queued)).toBe(value(first, queued)! + 1);

    // A deleted run (only ended ones can be) leaves the count of ended runs it is in at the next count.
    const afterDelete = holdNextCount();
    expect((await api.fetch(`${api.baseUrl}/v1/runs/${ids[1]}`, { method: 'DELETE' })).status).toBe(200);
    expect(value(await scrape(), succeeded)).toBe(value(first, succeeded)! + 1);
    afterDelete.release();
    await afterDelete.counted;
    expect(value(await scrape(), succeeded)).toBe(value(first, succeeded));
  });
});
