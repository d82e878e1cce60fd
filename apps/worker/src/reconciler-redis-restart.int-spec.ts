import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { loadConfig } from '@trainyard/config';
import { RunSpecSchema } from '@trainyard/contracts';
import {
  CheckpointsRepository,
  DatasetsRepository,
  MetricCompactionRepository,
  PipelinesRepository,
  ReconciliationRepository,
  RunsRepository,
  WorkersRepository,
  type Database,
} from '@trainyard/db';
import { useMigratedDatabase } from '@trainyard/db/testing';
import { createRedisConnection, TrainingQueues } from '@trainyard/queue';
import { CheckpointStore, type ObjectStore } from '@trainyard/storage';
import { startS3TestServer, type S3TestServer } from '@trainyard/storage/testing';
import { DatabasePatience } from './database-patience';
import { ORPHAN_CHECKPOINT_GRACE_MS, OrphanCheckpointSweeper, type SweepOptions } from './orphan-checkpoints.sweeper';
import { OrphanUploadSweeper } from './orphan-uploads.sweeper';
import { PipelineAdvancer } from './pipeline.advancer';
import { Reconciler } from './reconciler.service';

// A Redis database of this suite's own, so that flushing it (as a restart without persistence
// does) takes nothing from the suites running beside it.
const REDIS_URL = `redis://127.0.0.1:${process.env['TRAINYARD_TEST_REDIS_PORT'] ?? 6379}/11`;
const spec = RunSpecSchema.parse({ kind: 'pretrain', name: 'p', dataset: { name: 'synthetic-shapes', imageSize: 8 } });
const config = loadConfig({ WORKER_RECONCILE_INTERVAL_MS: '60000', WORKER_MAX_ATTEMPTS: '3' });

/** s3rver's LastModified cannot be set back, so the sweep is told it runs an hour later: past every folder's grace. */
class AnHourLaterSweeper extends OrphanCheckpointSweeper {
  override sweep(runId: string, options: SweepOptions = {}): Promise<number[]> {
    return super.sweep(runId, { ...options, now: new Date(Date.now() + 60 * 60_000) });
  }
}

/**
 * The last orphan-checkpoint sweep of ended runs across a Redis restart, on the real PostgreSQL,
 * Redis and S3 (s3rver over HTTP): what is left to sweep lives in PostgreSQL, so a Redis that lost
 * everything makes no run's orphans stay in the store for good.
 */
describe('Reconciler sweep of ended runs across a Redis restart (PostgreSQL, Redis, S3)', () => {
  let db: Database;
  let runs: RunsRepository;
  let checkpoints: CheckpointsRepository;
  let s3: S3TestServer;
  let objects: ObjectStore;
  let store: CheckpointStore;
  let connection: Redis;
  let queues: TrainingQueues;

  useMigratedDatabase(async (opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
    checkpoints = new CheckpointsRepository(db.prisma);
  });
  beforeAll(async () => {
    s3 = await startS3TestServer();
    objects = await s3.objectStore();
    store = new CheckpointStore(objects);
    connection = createRedisConnection(REDIS_URL);
    queues = new TrainingQueues(connection, `test-${randomUUID()}`);
  });
  afterAll(async () => {
    await connection?.flushdb();
    await queues?.close();
    await connection?.quit();
    await s3?.stop();
  });

  const reconciler = (workerId: string) => {
    const pipelines = new PipelinesRepository(db.prisma);
    return new Reconciler(
      config,
      { queueName: queues.name, workerId },
      connection,
      queues,
      new ReconciliationRepository(db.prisma),
      pipelines,
      new WorkersRepository(db.prisma),
      new PipelineAdvancer(config, queues, pipelines, new DatabasePatience(config)),
      new AnHourLaterSweeper(store, checkpoints),
      new OrphanUploadSweeper(objects, new DatasetsRepository(db.prisma)),
      new MetricCompactionRepository(db.prisma),
    );
  };

  /** Runs CANCELLED together (one statement) `minutesAgo`, each with an orphan folder (uploaded, never recorded). */
  async function endedTogether(count: number, minutesAgo: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const { id } = await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'r', spec, baseRunId: null });
      await objects.put(`runs/${id}/checkpoints/2/model/weights.bin`, Buffer.alloc(64, i));
      ids.push(id);
    }
    const endedAt = new Date(Date.now() - minutesAgo * 60_000);
    await db.prisma.run.updateMany({ where: { id: { in: ids } }, data: { status: 'CANCELLED', endedAt } });
    return ids;
  }
  const foldersOf = async (runId: string) => (await store.folders(runId)).map((f) => f.sequence);

  it('sweeps every run of a burst larger than a page, though Redis lost everything midway', async () => {
    // A run that ended days ago, before the upgrade that brought the mark: swept too, oldest first.
    const [before] = await endedTogether(1, 3 * 24 * 60);
    // A burst of 8 (a sweep cancelled), settled a minute ago; one of them recorded checkpoint 1.
    const burst = await endedTogether(8, ORPHAN_CHECKPOINT_GRACE_MS / 60_000 + 1);
    const recorded = burst[0]!;
    const written = await store.write(recorded, 1, { 'model/weights.bin': Buffer.alloc(64, 9) }, { sequence: 1 });
    const begun = await checkpoints.begin({
      runId: recorded,
      attemptId: null,
      sequence: 1,
      epoch: 1,
      step: 1,
      uri: written.uri,
      models: ['autoencoder'],
    });
    await checkpoints.complete(begun.id, written.bytes, written.sha256);
    const all = [before!, ...burst];
    for (const id of all) expect(await foldersOf(id)).toEqual(id === recorded ? [1, 2] : [2]);

    const [a, b] = [reconciler('worker-a'), reconciler('worker-b')];
    const looked = [(await a.reconcileOnce({ sweepPageSize: 3 })).looked.ended];
    // Three minutes later (the burst ended three intervals further back) Redis restarts without
    // persistence: the lock, the walk positions and the queues are gone.
    await db.prisma.$executeRaw`UPDATE "runs" SET "ended_at" = "ended_at" - interval '3 minutes'`;
    await connection.flushdb();
    expect(await connection.dbsize()).toBe(0);
    for (const worker of [b, a, b]) {
      const report = await worker.reconcileOnce({ sweepPageSize: 3 });
      expect(report).toMatchObject({ ran: true, errors: [] });
      looked.push(report.looked.ended);
    }
    expect(looked).toEqual([3, 3, 3, 0]);
    // Every orphan folder went; the recorded checkpoint stays.
    for (const id of all) expect(await foldersOf(id)).toEqual(id === recorded ? [1] : []);
    const marked = await db.prisma.run.findMany({ where: { id: { in: all } }, select: { orphansSweptAt: true } });
    expect(marked.filter((r) => r.orphansSweptAt === null)).toEqual([]);
  });

  it('tries a sweep that failed (the store down) again after a Redis restart, not giving it up, and sweeps it once the store is back', async () => {
    const ids = (await endedTogether(2, ORPHAN_CHECKPOINT_GRACE_MS / 60_000 + 1)).sort();
    const [a, b] = [reconciler('worker-a'), reconciler('worker-b')];
    await s3.down();
    try {
      // The page stops at the first run, to be tried once more on the next pass...
      expect(await a.reconcileOnce({ sweepPageSize: 3 })).toMatchObject({
        looked: { ended: 0 },
        errors: [`ended run ${ids[0]}`],
      });
      // ...but Redis lost which run failed once: it costs one more try, and nothing is given up.
      // (Redis lost the hour of the upload sweep too: it runs, and fails on the store as well.)
      await connection.flushdb();
      expect(await b.reconcileOnce({ sweepPageSize: 3 })).toMatchObject({
        looked: { ended: 0 },
        errors: [`ended run ${ids[0]}`, 'the sweep of orphan uploads'],
      });
    } finally {
      await s3.up();
    }
    expect(await a.reconcileOnce({ sweepPageSize: 3 })).toMatchObject({ looked: { ended: 2 }, errors: [] });
    for (const id of ids) expect(await foldersOf(id)).toEqual([]);
  });
});
