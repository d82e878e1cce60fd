import { freePort, type AppProcess } from './processes';
import { Cluster, tinyPretrain } from './cluster';

interface QueueEntry {
  name: string;
  resourceClass: string;
  waitingRuns: number;
  oldestWaitSeconds: number | null;
}

/**
 * Resource classes, the submit-time check and per-project limits through real processes: an API,
 * workers that consume the classes they are configured for, PostgreSQL, Redis and an S3 server.
 * (A worker configured for the gpu class trains on wasm here: CI has no GPU; what a GPU worker
 * serves by default is in gpu-worker.int-spec.ts.)
 */
describe('resource classes and project limits (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start();
  }, 120_000);
  afterAll(async () => cluster?.stop());

  const workerIdOf = async (runId: string) => (await cluster.attempts(runId)).map((a) => a.worker_id);
  const workerIdFor = async (worker: AppProcess) =>
    (await cluster.pg.query(`SELECT id FROM workers WHERE pid = $1 AND stopped_at IS NULL`, [worker.child.pid])).rows[0]
      ?.id as string;

  it("trains at most its project's own limit of runs at once, below the default and whatever the worker concurrency", async () => {
    // The project's own limit, set over the API, holds it below the worker's PROJECT_MAX_RUNNING.
    const limit = (maxRunning: number | null) =>
      cluster.fetch(`${cluster.baseUrl}/v1/projects/default/limits`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ maxRunning }),
      });
    expect((await limit(1)).status).toBe(200);
    // Without prestarted processes: each attempt starts its own.
    const metricsPort = await freePort();
    const worker = await cluster.startWorker({
      PROJECT_MAX_RUNNING: '5',
      WORKER_CONCURRENCY: '2',
      WORKER_PRESTART: 'false',
      WORKER_METRICS_PORT: String(metricsPort),
    });
    // The worker registered the default it applies; the API (not given one) reports it.
    expect(await (await cluster.fetch(`${cluster.baseUrl}/v1/projects/default/limits`)).json()).toMatchObject({
      maxRunning: 1,
      defaultMaxRunning: 5,
      workersMaxRunning: [5],
      effectiveMaxRunning: 1,
    });
    const runs = [await cluster.submit(tinyPretrain('limit a', 3)), await cluster.submit(tinyPretrain('limit b', 3))];
    for (const id of runs) expect((await cluster.waitForStatus(id, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
    const { rows } = await cluster.pg.query(
      `SELECT run_id, started_at, ended_at FROM attempts WHERE run_id = ANY($1) ORDER BY started_at`,
      [runs],
    );
    // One attempt each, one after the other: the second waited for the first to end, parked (not
    // given back every few seconds), and went back in line as soon as it did: well before the
    // parked job's own delay (PARKED_JOB_DELAY_MS, 60 s) would have brought it back.
    expect(rows).toHaveLength(2);
    expect(rows[1].started_at.getTime()).toBeGreaterThanOrEqual(rows[0].ended_at.getTime());
    expect(rows[1].started_at.getTime() - rows[0].ended_at.getTime()).toBeLessThan(20_000);
    const second = rows[1].run_id as string;
    expect(worker.output().match(new RegExp(`run ${second} parked until a run of its project ends`, 'g'))).toHaveLength(
      1,
    );
    expect(worker.output()).toMatch(/Project default is at its limit of 1 run training at once/);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^trainyard_worker_project_limit_jobs_total\{action="parked"\} 1$/m);
    expect(metrics).toMatch(/^trainyard_worker_project_limit_jobs_total\{action="released"\} 1$/m);
    expect(worker.output()).toMatch(
      new RegExp(`project default has 1 place\\(s\\) free under its limit: ${second} back in line`),
    );
    for (const id of runs)
      expect(worker.output()).toMatch(
        new RegExp(`run ${id} attempt 1 trains in process \\d+(?!\\d| \\(prestarted\\))`),
      );
    expect((await limit(null)).status).toBe(200);
    await worker.stop('SIGTERM');
    cluster.workers.splice(cluster.workers.indexOf(worker), 1);
  }, 120_000);

  it('routes each run to a worker that consumes its class, shows the classes, and refuses at submit what no live worker can serve', async () => {
    // The next test drains this worker and takes it back, each acted on at its next heartbeat:
    // every second here, not the default 10 s (load-config.spec.ts checks it).
    const cpu = await cluster.startWorker({ WORKER_HEARTBEAT_INTERVAL_MS: '1000' });
    const gpu = await cluster.startWorker({ WORKER_RESOURCE_CLASSES: 'gpu' });
    expect(cpu.output()).toMatch(/for resource classes cpu, any \(concurrency 1\)/);
    expect(gpu.output()).toMatch(/for resource classes gpu \(concurrency 1\)/);
    const [cpuId, gpuId] = [await workerIdFor(cpu), await workerIdFor(gpu)];

    const listed = (await (await cluster.fetch(`${cluster.baseUrl}/v1/workers`)).json()) as {
      workers: { id: string; resourceClasses: string[]; memoryMb: number | null }[];
    };
    const classesOf = (id: string) => listed.workers.find((w) => w.id === id);
    expect(classesOf(cpuId)).toMatchObject({ resourceClasses: ['cpu', 'any'], memoryMb: expect.any(Number) });
    expect(classesOf(gpuId)).toMatchObject({ resourceClasses: ['gpu'] });

    const onGpu = await cluster.submit({ ...tinyPretrain('class gpu', 2), resources: { accelerator: 'gpu' } });
    const onCpu = await cluster.submit({
      ...tinyPretrain('class cpu', 2),
      resources: { accelerator: 'cpu', memoryGb: 0.5 },
    });
    for (const id of [onGpu, onCpu])
      expect((await cluster.waitForStatus(id, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
    expect({ gpu: await workerIdOf(onGpu), cpu: await workerIdOf(onCpu) }).toEqual({ gpu: [gpuId], cpu: [cpuId] });
    // WORKER_PRESTART by default: each trained in the process that waited, loaded, in the idle slot.
    expect(cpu.output()).toMatch(new RegExp(`run ${onCpu} attempt 1 trains in process \\d+ \\(prestarted\\)`));
    expect(gpu.output()).toMatch(new RegExp(`run ${onGpu} attempt 1 trains in process \\d+ \\(prestarted\\)`));

    // More memory than any live worker has, on any device: 422 naming the field, nothing recorded.
    const before = (await cluster.pg.query(`SELECT count(*)::int AS n FROM runs`)).rows[0].n;
    const huge = await cluster.post({ ...tinyPretrain('too big', 1), resources: { memoryGb: 4000 } });
    expect(huge.status).toBe(422);
    const problem = (await huge.json()) as { message: string; errors: { field: string }[] };
    expect(problem.errors).toEqual([expect.objectContaining({ field: 'resources' })]);
    expect(problem.message).toMatch(/QUEUE_UNSERVABLE_RUNS/);
    // No live worker of the class once the only one stops.
    await gpu.stop('SIGTERM');
    cluster.workers.splice(cluster.workers.indexOf(gpu), 1);
    const noGpu = await cluster.post({ ...tinyPretrain('no gpu', 1), resources: { accelerator: 'gpu' } });
    expect(noGpu.status).toBe(422);
    expect(((await noGpu.json()) as { message: string }).message).toMatch(/resource class "gpu"/);
    expect((await cluster.pg.query(`SELECT count(*)::int AS n FROM runs`)).rows[0].n).toBe(before);

    // Bad resources and priorities are a 400 naming the field.
    for (const [body, field] of [
      [{ resources: { accelerator: 'tpu' } }, 'resources.accelerator'],
      [{ resources: { memoryGb: -1 } }, 'resources.memoryGb'],
      [{ resources: { memoryGb: 'NaN' } }, 'resources.memoryGb'],
      [{ resources: { accelerator: 'gpu', __proto__x: 1 } }, 'resources.__proto__x'],
      [{ priority: 101 }, 'priority'],
      [{ priority: 1.5 }, 'priority'],
    ] as const) {
      const response = await cluster.post({ ...tinyPretrain('bad', 1), ...body });
      expect({ field, status: response.status }).toEqual({ field, status: 400 });
      const { errors } = (await response.json()) as { errors: { field: string }[] };
      expect(errors.map((e) => e.field)).toContain(field);
    }
  }, 180_000);

  it('shows each class’s queue with the runs waiting in it and how long, in the API and in /metrics', async () => {
    const cpu = cluster.workers[0]!;
    const cpuId = await workerIdFor(cpu);
    // Drained, the worker still counts as live (it may be taken back), so the run is accepted and waits.
    expect((await cluster.fetch(`${cluster.baseUrl}/v1/workers/${cpuId}/drain`, { method: 'POST' })).status).toBe(202);
    await cluster.waitForSql('the worker to drain', `SELECT drained_at IS NOT NULL AS ok FROM workers WHERE id = $1`, [
      cpuId,
    ]);
    const waiting = await cluster.submit({ ...tinyPretrain('waits', 1), resources: { accelerator: 'cpu' } });
    await new Promise((r) => setTimeout(r, 1100));
    const { queues } = (await (await cluster.fetch(`${cluster.baseUrl}/v1/queues`)).json()) as { queues: QueueEntry[] };
    expect(queues.map((q) => [q.resourceClass, q.name])).toEqual([
      ['any', cluster.queueName],
      ['cpu', `${cluster.queueName}-cpu`],
      ['gpu', `${cluster.queueName}-gpu`],
    ]);
    const cpuQueue = queues.find((q) => q.resourceClass === 'cpu')!;
    expect(cpuQueue.waitingRuns).toBe(1);
    expect(cpuQueue.oldestWaitSeconds).toBeGreaterThanOrEqual(1);
    expect(queues.find((q) => q.resourceClass === 'gpu')).toMatchObject({ waitingRuns: 0, oldestWaitSeconds: null });
    const metrics = await (await cluster.fetch(`${cluster.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/trainyard_runs_waiting\{class="cpu"\} 1/);
    expect(metrics).toMatch(/trainyard_queue_oldest_wait_seconds\{class="cpu"\} [1-9]/);
    // Prioritized, or delayed if the consumer's last fetch before the drain's pause took it and gave it back.
    const cpuJobs = ['waiting', 'prioritized', 'delayed'].map((state) =>
      Number(
        metrics.match(
          new RegExp(`trainyard_queue_jobs\\{queue="${cluster.queueName}-cpu",class="cpu",state="${state}"\\} (\\d+)`),
        )?.[1],
      ),
    );
    expect(cpuJobs.reduce((a, b) => a + b)).toBe(1);

    // Taken back, the worker trains it.
    expect((await cluster.fetch(`${cluster.baseUrl}/v1/workers/${cpuId}/drain`, { method: 'DELETE' })).status).toBe(
      200,
    );
    expect((await cluster.waitForStatus(waiting, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
    expect(await workerIdOf(waiting)).toEqual([cpuId]);
  }, 120_000);
});
