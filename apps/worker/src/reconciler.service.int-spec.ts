import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { loadConfig } from '@trainyard/config';
import { RunSpecSchema, type RunKind } from '@trainyard/contracts';
import {
  AttemptsRepository,
  CheckpointsRepository,
  DatasetsRepository,
  MetricCompactionRepository,
  MetricsRepository,
  PipelinesRepository,
  ReconciliationRepository,
  RunsRepository,
  WorkersRepository,
  type Database,
} from '@trainyard/db';
import { useMigratedDatabase } from '@trainyard/db/testing';
import { createRedisConnection, enqueueRun, TrainingQueues } from '@trainyard/queue';
import { CheckpointStore, LocalObjectStore } from '@trainyard/storage';
import { ORPHAN_CHECKPOINT_GRACE_MS, OrphanCheckpointSweeper } from './orphan-checkpoints.sweeper';
import { OrphanUploadSweeper } from './orphan-uploads.sweeper';
import { DatabasePatience } from './database-patience';
import { PipelineAdvancer } from './pipeline.advancer';
import { Reconciler, type ReconcileReport } from './reconciler.service';

const REDIS_URL = `redis://127.0.0.1:${process.env['TRAINYARD_TEST_REDIS_PORT'] ?? 6379}`;
const shapes = { name: 'synthetic-shapes', imageSize: 8 };
const pretrain = RunSpecSchema.parse({ kind: 'pretrain', name: 'p', dataset: shapes });
const finetune = RunSpecSchema.parse({ kind: 'finetune', name: 'f', dataset: shapes });
const config = loadConfig({ WORKER_RECONCILE_INTERVAL_MS: '60000', WORKER_MAX_ATTEMPTS: '3' });

/**
 * The reconciler on the real PostgreSQL and Redis: it walks every unfinished run and running
 * pipeline a page a pass, from where the last pass of any worker stopped, and one run, pipeline
 * or ended run it cannot reconcile costs only itself.
 */
describe('Reconciler (PostgreSQL, Redis)', () => {
  let db: Database;
  let runs: RunsRepository;
  let attempts: AttemptsRepository;
  let workers: WorkersRepository;
  let checkpoints: CheckpointsRepository;
  let pipelines: PipelinesRepository;
  let folder: string;
  let connection: Redis;
  let queues: TrainingQueues;
  let orphans: OrphanCheckpointSweeper;
  let uploads: OrphanUploadSweeper;
  let advancer: PipelineAdvancer;

  useMigratedDatabase(async (opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
    attempts = new AttemptsRepository(db.prisma);
    workers = new WorkersRepository(db.prisma);
    checkpoints = new CheckpointsRepository(db.prisma);
    pipelines = new PipelinesRepository(db.prisma);
  });
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'trainyard-reconciler-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await db.prisma.$executeRaw`TRUNCATE "runs", "pipelines", "workers" CASCADE`;
    connection = createRedisConnection(REDIS_URL);
    queues = new TrainingQueues(connection, `test-${randomUUID()}`);
    orphans = new OrphanCheckpointSweeper(new CheckpointStore(new LocalObjectStore(folder)), checkpoints);
    uploads = new OrphanUploadSweeper(new LocalObjectStore(folder), new DatasetsRepository(db.prisma));
    advancer = new PipelineAdvancer(config, queues, pipelines, new DatabasePatience(config));
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const [, queue] of queues.entries()) await queue.obliterate({ force: true });
    await connection.del(
      `trainyard:reconciler:${queues.name}`,
      `trainyard:reconciler:${queues.name}:positions`,
      `trainyard:reconciler:${queues.name}:uploads-swept`,
    );
    await queues.close();
    await connection.quit();
  });

  /** A worker's reconciler; several share the lock and the walk positions (the queue name). */
  const reconciler = (workerId: string, settings = config, queueName = queues.name) =>
    new Reconciler(
      settings,
      { queueName, workerId },
      connection,
      queues,
      new ReconciliationRepository(db.prisma),
      pipelines,
      workers,
      advancer,
      orphans,
      uploads,
      new MetricCompactionRepository(db.prisma),
    );

  /** A run created `minutesAgo`, untouched since (the reconciler skips runs touched a moment ago). */
  async function run(minutesAgo: number, kind: RunKind = 'PRETRAIN'): Promise<string> {
    const { id } = await runs.create({ id: randomUUID(), kind, name: 'r', spec: pretrain, baseRunId: null });
    await backdate(id, minutesAgo);
    return id;
  }
  async function backdate(runId: string, minutesAgo: number) {
    const at = new Date(Date.now() - minutesAgo * 60_000);
    await db.prisma
      .$executeRaw`UPDATE "runs" SET "created_at" = ${at}, "updated_at" = ${at} WHERE "id" = ${runId}::uuid`;
  }
  /** A QUEUED run whose job waits in the queue: healthy, the reconciler leaves it as it is. */
  async function healthyRun(minutesAgo: number): Promise<string> {
    const id = await run(minutesAgo);
    await enqueueRun(queues, { id, kind: 'PRETRAIN', spec: pretrain }, 3);
    return id;
  }
  /** A RUNNING run whose worker died 10 minutes ago and whose job Redis lost. */
  async function deadRunningRun(minutesAgo: number): Promise<string> {
    const id = await run(minutesAgo);
    const workerId = `gone-${id}`;
    await workers.register({ id: workerId, hostname: 'gone', pid: 1, backend: 'cpu', gpu: null, concurrency: 1 });
    await attempts.openCurrent(id, workerId);
    await db.prisma.worker.update({
      where: { id: workerId },
      data: { lastHeartbeatAt: new Date(Date.now() - 10 * 60_000) },
    });
    await backdate(id, minutesAgo);
    return id;
  }
  /** A pipeline whose pretrain SUCCEEDED with an encoder: its fine-tune is ready to be released. */
  async function readyPipeline(minutesAgo: number) {
    const id = randomUUID();
    const [pretrainId, finetuneId] = [randomUUID(), randomUUID()];
    await pipelines.create({ id, name: 'pl', spec: {}, project: 'default' }, [
      { id: pretrainId, kind: 'PRETRAIN', name: 'p', spec: pretrain, baseRunId: null, held: false },
      { id: finetuneId, kind: 'FINETUNE', name: 'f', spec: finetune, baseRunId: pretrainId, held: true },
    ]);
    const begun = await checkpoints.begin({
      runId: pretrainId,
      attemptId: null,
      sequence: 1,
      epoch: 1,
      step: 1,
      uri: `file:///ckpt/${pretrainId}/1/`,
      models: ['autoencoder', 'encoder'],
    });
    await checkpoints.complete(begun.id, 1, 'a'.repeat(64));
    await db.prisma.run.update({ where: { id: pretrainId }, data: { status: 'SUCCEEDED', endedAt: new Date() } });
    await db.prisma.pipeline.update({ where: { id }, data: { createdAt: new Date(Date.now() - minutesAgo * 60_000) } });
    return { id, finetuneId };
  }
  /** A pipeline whose pretrain waits: nothing to advance. */
  async function waitingPipeline(minutesAgo: number) {
    const id = randomUUID();
    await pipelines.create({ id, name: 'pl', spec: {}, project: 'default' }, [
      { id: randomUUID(), kind: 'PRETRAIN', name: 'p', spec: pretrain, baseRunId: null, held: false },
    ]);
    await db.prisma.pipeline.update({ where: { id }, data: { createdAt: new Date(Date.now() - minutesAgo * 60_000) } });
    return id;
  }
  /** Runs that ended together (one statement) long enough ago for their last orphan sweep. */
  async function endedTogether(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(await run(120));
    const endedAt = new Date(Date.now() - ORPHAN_CHECKPOINT_GRACE_MS - 60_000);
    await db.prisma.run.updateMany({ where: { id: { in: ids } }, data: { status: 'CANCELLED', endedAt } });
    return ids.sort();
  }
  const jobState = async (runId: string) => (await (await queues.getJob(runId))?.getState()) ?? 'missing';

  it('reaches a newer lost RUNNING run behind more older waiting runs than a pass reads, the fleet taking turns', async () => {
    // 12 older QUEUED runs with healthy jobs (left unchanged, so a walk from the oldest every pass
    // would read only them), then a RUNNING run whose worker died and whose job was lost.
    for (let i = 0; i < 12; i++) await healthyRun(60 - i);
    const lost = await deadRunningRun(30);
    // Two workers take turns holding the lock: the walk goes on from where the other one stopped.
    const [a, b] = [reconciler('worker-a'), reconciler('worker-b')];
    const passes: ReconcileReport[] = [];
    for (const worker of [a, b, a]) {
      expect(await jobState(lost)).toBe('missing');
      passes.push(await worker.reconcileOnce({ pageSize: 5 }));
    }
    // 13 runs, 5 a pass: the third pass (ceil(13 / 5)) reads it and enqueues it again.
    expect(passes.map((p) => [p.ran, p.looked.runs])).toEqual([
      [true, 5],
      [true, 5],
      [true, 3],
    ]);
    expect(passes.map((p) => p.requeued)).toEqual([[], [], [lost]]);
    expect(await jobState(lost)).toBe('prioritized');
    expect((await runs.get(lost))!.status).toBe('RUNNING');
    // A short page ended the walk: the next pass starts over from the oldest.
    const again = await b.reconcileOnce({ pageSize: 5 });
    expect(again.looked.runs).toBe(5);
    expect(again.errors).toEqual([]);
  });

  it('reaches a newer running pipeline behind more running pipelines than a pass reads', async () => {
    for (let i = 0; i < 7; i++) await waitingPipeline(60 - i);
    const ready = await readyPipeline(30);
    const [a, b] = [reconciler('worker-a'), reconciler('worker-b')];
    const looked: number[] = [];
    for (const worker of [a, b]) {
      expect((await runs.get(ready.finetuneId))!.held).toBe(true);
      looked.push((await worker.reconcileOnce({ pageSize: 4 })).looked.pipelines);
    }
    expect(looked).toEqual([4, 4]);
    expect((await runs.get(ready.finetuneId))!.held).toBe(false);
    expect(await jobState(ready.finetuneId)).toBe('prioritized');
    expect((await a.reconcileOnce({ pageSize: 4 })).looked.pipelines).toBe(4);
  });

  it('gives every run that ended together its last orphan sweep, a page a pass, each once', async () => {
    const ended = await endedTogether(7);
    const swept: string[] = [];
    jest.spyOn(orphans, 'sweep').mockImplementation(async (runId) => {
      swept.push(runId);
      return [];
    });
    const worker = reconciler('worker-a');
    const looked: number[] = [];
    for (let pass = 0; pass < 4; pass++) looked.push((await worker.reconcileOnce({ sweepPageSize: 3 })).looked.ended);
    expect(looked).toEqual([3, 3, 1, 0]);
    expect(swept).toEqual(ended);
  });

  it('tries a failed orphan sweep once more on the next pass, then gives it up without stopping the others', async () => {
    const ended = await endedTogether(5);
    const failing = ended[1]!;
    const swept: string[] = [];
    jest.spyOn(orphans, 'sweep').mockImplementation(async (runId) => {
      swept.push(runId);
      if (runId === failing) throw new Error('store not answering');
      return [];
    });
    const worker = reconciler('worker-a');
    const first = await worker.reconcileOnce({ sweepPageSize: 3 });
    expect(first).toMatchObject({ looked: { ended: 1 }, errors: [`ended run ${failing}`] });
    const second = await worker.reconcileOnce({ sweepPageSize: 3 });
    expect(second).toMatchObject({ looked: { ended: 3 }, errors: [`ended run ${failing}`] });
    const third = await worker.reconcileOnce({ sweepPageSize: 3 });
    expect(third).toMatchObject({ looked: { ended: 1 }, errors: [] });
    expect(swept).toEqual([ended[0], failing, failing, ended[2], ended[3], ended[4]]);
  });

  it('reconciles each run and pipeline on its own: one that throws is logged and counted, the pass goes on', async () => {
    const [unreachable, lostJob] = [await run(50), await run(40)];
    const [stuck, ready] = [await readyPipeline(50), await readyPipeline(40)];
    const [endedRun] = await endedTogether(1);
    // Redis times out on one run's job, and one pipeline's advance fails.
    const getJob = queues.getJob.bind(queues);
    jest
      .spyOn(queues, 'getJob')
      .mockImplementation((runId) =>
        runId === unreachable ? Promise.reject(new Error('Command timed out')) : getJob(runId),
      );
    const advance = advancer.advance.bind(advancer);
    jest
      .spyOn(advancer, 'advance')
      .mockImplementation((id) => (id === stuck.id ? Promise.reject(new Error('connection reset')) : advance(id)));
    const sweep = jest.spyOn(orphans, 'sweep');

    const report = await reconciler('worker-a').reconcileOnce();
    expect(report).toMatchObject({ ran: true, requeued: [lostJob], failed: [] });
    expect(report.errors).toEqual([`run ${unreachable}`, `pipeline ${stuck.id}`]);
    expect(report.looked).toEqual({ runs: 2, pipelines: 2, ended: 1 });
    expect(await jobState(lostJob)).toBe('prioritized');
    expect((await runs.get(ready.finetuneId))!.held).toBe(false);
    expect(await jobState(ready.finetuneId)).toBe('prioritized');
    expect(sweep).toHaveBeenCalledWith(endedRun);

    // A whole step failing (listing the pipelines) skips only that step; the next pass mends the rest.
    jest.spyOn(pipelines, 'listRunning').mockRejectedValueOnce(new Error('database went away'));
    await backdate(lostJob, 40);
    await (await queues.getJob(lostJob))!.remove();
    const next = await reconciler('worker-b').reconcileOnce();
    expect(next.errors).toEqual([`run ${unreachable}`, 'the walk of running pipelines']);
    expect(next.requeued).toEqual([lostJob]);
    jest.restoreAllMocks();
    const healed = await reconciler('worker-a').reconcileOnce();
    expect(healed.errors).toEqual([]);
    expect(healed.requeued).toEqual([unreachable]);
    expect((await runs.get(stuck.finetuneId))!.held).toBe(false);
  });

  it('deletes, about hourly across the fleet, the images of an upload no dataset names once a day passed without a write', async () => {
    const store = new LocalObjectStore(folder);
    const datasets = new DatasetsRepository(db.prisma);
    const [orphan, registered, recent] = [randomUUID(), randomUUID(), randomUUID()].map(
      (id) => `datasets/uploads/${id}/`,
    );
    for (const prefix of [orphan!, registered!, recent!])
      for (const file of ['cat/1.png', 'dog/1.png']) await store.put(`${prefix}${file}`, Buffer.from(file));
    await datasets.create({
      id: randomUUID(),
      name: 'kept',
      project: 'default',
      location: { kind: 's3', prefix: registered! },
      uri: store.uri(registered!),
      classNames: ['cat', 'dog'],
      counts: [1, 1],
    });
    // The orphan and the registered upload were last written two days ago; the recent one now.
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60_000);
    for (const prefix of [orphan!, registered!])
      for (const file of ['cat/1.png', 'dog/1.png']) await utimes(join(folder, prefix, file), twoDaysAgo, twoDaysAgo);

    const first = await reconciler('worker-a').reconcileOnce();
    expect(first.sweptUploads).toEqual([orphan]);
    expect((await store.list('datasets/uploads/')).map((o) => o.key.split('/')[2])).toEqual(
      expect.arrayContaining([registered!.split('/')[2], recent!.split('/')[2]]),
    );
    expect(await store.list(orphan!)).toEqual([]);
    expect(await store.list(registered!)).toHaveLength(2);
    expect(await store.list(recent!)).toHaveLength(2);
    // Not again within the hour, from any worker.
    for (const file of ['cat/1.png']) await store.put(`${orphan}${file}`, Buffer.from(file));
    await utimes(join(folder, orphan!, 'cat/1.png'), twoDaysAgo, twoDaysAgo);
    expect((await reconciler('worker-b').reconcileOnce()).sweptUploads).toEqual([]);
    expect(await store.list(orphan!)).toHaveLength(1);
  });

  it('records a worker lost for WORKER_LOST_RETIRE_MS as stopped (reason lost), once across the fleet; a lost one that beats again runs again', async () => {
    const { lostAfterMs, lostRetireMs } = config.worker;
    expect(lostRetireMs).toBe(600_000); // the default: 10 minutes past lost
    const worker = async (id: string, silentForMs: number) => {
      await workers.register({ id, hostname: 'h', pid: 1, backend: 'cpu', gpu: null, concurrency: 1 });
      const lastHeartbeatAt = new Date(Date.now() - silentForMs);
      await db.prisma.worker.update({ where: { id }, data: { lastHeartbeatAt } });
    };
    await worker('alive', 0);
    await worker('lost-recently', lostAfterMs + lostRetireMs - 60_000);
    await worker('lost-long-ago', lostAfterMs + lostRetireMs + 60_000);
    await worker('lost-while-draining', lostAfterMs + lostRetireMs + 5_000);
    await workers.requestDrain('lost-while-draining', 'finish');
    await worker('stopped-itself', lostAfterMs + lostRetireMs + 60_000);
    await workers.stop('stopped-itself');
    const stateOf = async () =>
      Object.fromEntries((await workers.fleet(lostAfterMs)).map((w) => [w.id, [w.state, w.stopReason]]));
    expect(await workers.countByState(lostAfterMs)).toMatchObject({ lost: 3, stopped: 1 });

    // Two workers' reconcilers at once, each on its own queue (their own locks): each row retired once.
    const other = new TrainingQueues(connection, `test-${randomUUID()}`);
    try {
      const otherReconciler = new Reconciler(
        config,
        { queueName: other.name, workerId: 'worker-b' },
        connection,
        other,
        new ReconciliationRepository(db.prisma),
        pipelines,
        workers,
        advancer,
        orphans,
        uploads,
        new MetricCompactionRepository(db.prisma),
      );
      const reports = await Promise.all([reconciler('worker-a').reconcileOnce(), otherReconciler.reconcileOnce()]);
      expect(reports.flatMap((r) => r.retiredWorkers).sort()).toEqual(['lost-long-ago', 'lost-while-draining']);
      expect(reports.every((r) => r.errors.length === 0)).toBe(true);
    } finally {
      await connection.del(`trainyard:reconciler:${other.name}`, `trainyard:reconciler:${other.name}:positions`);
      await other.close();
    }
    expect(await stateOf()).toEqual({
      alive: ['alive', null],
      'lost-recently': ['lost', null],
      'lost-long-ago': ['stopped', 'lost'],
      'lost-while-draining': ['stopped', 'lost'],
      'stopped-itself': ['stopped', 'shutdown'],
    });
    // The gauge counts only the worker lost recently: the "workers lost" alert clears by itself.
    expect(await workers.countByState(lostAfterMs)).toMatchObject({ alive: 1, lost: 1, stopped: 3 });
    expect((await reconciler('worker-a').reconcileOnce()).retiredWorkers).toEqual([]);
    // Nothing reaches a retired worker; one that was only silent (a partition) and beats again runs again.
    expect(await workers.requestDrain('lost-long-ago', 'preempt', lostAfterMs)).toBe(false);
    expect(await workers.heartbeat('lost-long-ago')).toBeNull();
    expect(await workers.heartbeat('lost-while-draining')).toMatchObject({ mode: 'finish' });
    expect(await workers.heartbeat('stopped-itself')).toBeNull();
    expect(await stateOf()).toMatchObject({
      'lost-long-ago': ['alive', null],
      'lost-while-draining': ['draining', null],
      'stopped-itself': ['stopped', 'shutdown'],
    });
  });

  it('compacts the metric points of runs ended METRIC_POINTS_COMPACT_AFTER_MS ago, each once across the fleet, a bounded number a pass', async () => {
    const metrics = new MetricsRepository(db.prisma);
    const DAY_MS = 86_400_000;
    // 3 blocks of 256 steps: at most 12 points kept of 768.
    const points = Array.from({ length: 768 }, (_, step) => ({
      name: 'loss',
      step,
      epoch: 0,
      value: Math.cos(step),
      wallTime: new Date(),
    }));
    const ended = async (daysAgo: number | null, status: 'SUCCEEDED' | 'RUNNING' = 'SUCCEEDED') => {
      const id = await run(60 * 24 * 40);
      await metrics.write(id, null, points);
      const endedAt = daysAgo === null ? null : new Date(Date.now() - daysAgo * DAY_MS);
      await db.prisma.$executeRaw`
        UPDATE "runs" SET "status" = ${status}::text::"RunStatus", "ended_at" = ${endedAt} WHERE "id" = ${id}::uuid`;
      return id;
    };
    // The points a reader sees: a compacted run's kept ones are in compacted_metric_points.
    const count = async (id: string) => (await metrics.series(id)).length;
    const old = [await ended(33), await ended(32), await ended(31)];
    const recent = await ended(29);
    const running = await ended(null, 'RUNNING');
    expect(config.worker.metricCompactAfterMs).toBe(30 * DAY_MS); // the default

    // Never, with 0.
    const never = loadConfig({ WORKER_RECONCILE_INTERVAL_MS: '60000', METRIC_POINTS_COMPACT_AFTER_MS: '0' });
    expect((await reconciler('worker-a', never).reconcileOnce()).compacted).toEqual({ runs: [], points: 0 });

    // A bounded pass: one run, the oldest.
    const first = (await reconciler('worker-a').reconcileOnce({ compactRuns: 1 })).compacted;
    expect(first.runs).toEqual([old[0]]);
    const keptOfEach = await count(old[0]!);
    expect(keptOfEach).toBeLessThanOrEqual(12);
    expect(first.points).toBe(768 - keptOfEach);
    // Two queues' reconcilers at once (their own locks): each run compacted once.
    const otherQueue = `test-${randomUUID()}`;
    const reports = await Promise.all([
      reconciler('worker-a').reconcileOnce(),
      reconciler('worker-b', config, otherQueue).reconcileOnce(),
    ]).finally(() =>
      connection.del(
        ...['', ':positions', ':uploads-swept'].map((suffix) => `trainyard:reconciler:${otherQueue}${suffix}`),
      ),
    );
    expect(reports.every((r) => r.ran && r.errors.length === 0)).toBe(true);
    expect(reports.flatMap((r) => r.compacted.runs).sort()).toEqual([old[1], old[2]].sort());
    expect(reports.reduce((n, r) => n + r.compacted.points, 0)).toBe(2 * (768 - keptOfEach));
    for (const id of old) expect(await count(id)).toBe(keptOfEach);
    expect(await db.prisma.metricPoint.count({ where: { runId: { in: old } } })).toBe(0);
    expect(await count(recent)).toBe(768);
    expect(await count(running)).toBe(768);
    expect((await reconciler('worker-a').reconcileOnce()).compacted).toEqual({ runs: [], points: 0 });

    // A run whose compaction fails is logged and counted; the others go on, and a later pass does it.
    const [failing, other] = [await ended(35), await ended(34)];
    jest
      .spyOn(MetricCompactionRepository.prototype, 'compactRun')
      .mockRejectedValueOnce(new Error('canceling statement due to statement timeout'));
    const failed = await reconciler('worker-a').reconcileOnce();
    expect(failed.errors).toEqual([`compaction of run ${failing}`]);
    expect(failed.compacted.runs).toEqual([other]);
    expect(await count(failing)).toBe(768);
    expect((await reconciler('worker-a').reconcileOnce()).compacted.runs).toEqual([failing]);
  });
});
