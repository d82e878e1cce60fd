import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@trainyard/config';
import type { RunSpec } from '@trainyard/contracts';
import { AttemptsRepository, CheckpointsRepository, RunsRepository, type Database } from '@trainyard/db';
import { startFreezableProxy, useDatabaseBehindProxy, type FreezableProxy } from '@trainyard/db/testing';
import { CheckpointStore, createObjectStore, LocalObjectStore } from '@trainyard/storage';
import { startS3TestServer, type S3TestServer } from '@trainyard/storage/testing';
import type { INestApplicationContext } from '@nestjs/common';
import { CheckpointRetention } from './checkpoint-retention.service';
import { createWorker } from './create-worker';
import { CHECKPOINT_STORE } from './worker.tokens';
import { DatabasePatience } from './database-patience';
import { OrphanCheckpointSweeper } from './orphan-checkpoints.sweeper';

const spec = { kind: 'pretrain', name: 'ae', dataset: { source: 'mnist' } } as unknown as RunSpec;
const files = { 'model/model.json': Buffer.from('{"modelTopology":{}}'), 'model/weights.bin': Buffer.alloc(256, 5) };
/** A run with an open attempt and a complete checkpoint of each of `sequences`, written to `store` and recorded: its fence. */
async function runWithCheckpoints(
  db: Database,
  store: CheckpointStore,
  name: string,
  sequences: number[],
): Promise<{ runId: string; attemptId: string }> {
  const run = await new RunsRepository(db.prisma).create({
    id: randomUUID(),
    kind: 'PRETRAIN',
    name,
    spec,
    baseRunId: null,
  });
  const opened = await new AttemptsRepository(db.prisma).openCurrent(run.id, null);
  const fence = { runId: run.id, attemptId: opened.attempt.id };
  const checkpoints = new CheckpointsRepository(db.prisma);
  for (const sequence of sequences) {
    const written = await store.write(run.id, sequence, files, { sequence });
    await checkpoints.recordComplete(fence, {
      sequence,
      epoch: sequence,
      step: sequence,
      models: ['autoencoder'],
      ...written,
    });
  }
  return fence;
}

/** Longer than the ~3 s a plain connection retry gives a call. */
const OUTAGE_MS = 6000;

/**
 * Checkpoint retention on real PostgreSQL, reached through a proxy that plays a PostgreSQL restart
 * (open connections cut, new ones answered FATAL 57P03). Retention runs after each checkpoint; after
 * a run's final one no later checkpoint tries it again, so it must wait out an outage as the run's
 * other writes do, or the run keeps every checkpoint it made.
 */
describe('CheckpointRetention across a PostgreSQL restart (real PostgreSQL, local store)', () => {
  let direct: Database;
  let proxy: FreezableProxy;
  let folder: string;
  let store: CheckpointStore;
  let retention: CheckpointRetention;

  useDatabaseBehindProxy(async (opened) => {
    ({ direct, proxy } = opened);
    folder = await mkdtemp(join(tmpdir(), 'trainyard-retention-'));
    store = new CheckpointStore(new LocalObjectStore(folder));
    const config = loadConfig({ CHECKPOINT_KEEP_LAST: '1', WORKER_DATABASE_OUTAGE_PATIENCE_MS: '60000' });
    const checkpoints = new CheckpointsRepository(opened.proxied.prisma);
    retention = new CheckpointRetention(
      config,
      store,
      checkpoints,
      new OrphanCheckpointSweeper(store, checkpoints),
      new DatabasePatience(config),
    );
  });
  afterAll(async () => {
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('waits for the database and then keeps only the last checkpoint, not giving up after ~3 s', async () => {
    const checkpoints = new CheckpointsRepository(direct.prisma);
    const fence = await runWithCheckpoints(direct, store, 'retention in an outage', [1, 2, 3]);

    proxy.restart();
    const applied = retention.apply(fence);
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    proxy.back();
    await applied;

    const left = await checkpoints.listByRun(fence.runId);
    expect(left.map((c) => [c.sequence, c.status])).toEqual([
      [1, 'DELETED'],
      [2, 'DELETED'],
      [3, 'COMPLETE'],
    ]);
    expect((await store.folders(fence.runId)).map((f) => f.sequence)).toEqual([3]);
  }, 60_000);
});

/**
 * A worker stopping (SIGTERM) while its PostgreSQL is silent: the attempt's end waits for the
 * retention its last checkpoints started, so none of retention's calls may wait longer than the
 * run's other calls, which a stopping worker gives up. pg's query deadline here is production's
 * default (30 s), what a call outside the run's patience waits.
 */
describe('CheckpointRetention in a stopping worker whose PostgreSQL does not answer (real PostgreSQL, local store)', () => {
  const DEADLINE_MS = 4000;
  const PG_QUERY_TIMEOUT_MS = 30_000;
  let direct: Database;
  let proxy: FreezableProxy;
  let folder: string;
  let store: CheckpointStore;
  let patience: DatabasePatience;
  let retention: CheckpointRetention;

  useDatabaseBehindProxy(async (opened) => {
    ({ direct, proxy } = opened);
    folder = await mkdtemp(join(tmpdir(), 'trainyard-retention-'));
    store = new CheckpointStore(new LocalObjectStore(folder));
    const config = loadConfig({ CHECKPOINT_KEEP_LAST: '1', WORKER_DATABASE_OUTAGE_PATIENCE_MS: '60000' });
    patience = new DatabasePatience(config);
    // PostgreSQL falls silent as the orphan sweep reads it, retention's patient calls answered
    // before: the moment a test run with the worker under load caught.
    const checkpoints = new (class extends CheckpointsRepository {
      override sweepRecord(runId: string) {
        proxy.freeze();
        return super.sweepRecord(runId);
      }
    })(opened.proxied.prisma);
    retention = new CheckpointRetention(
      config,
      store,
      checkpoints,
      new OrphanCheckpointSweeper(store, checkpoints),
      patience,
    );
  }, PG_QUERY_TIMEOUT_MS);
  afterAll(async () => {
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('gives up its orphan sweep with the run’s calls, within the shutdown deadline, not at pg’s query deadline', async () => {
    const fence = await runWithCheckpoints(direct, store, 'retention in a silent database', [1]);

    const stoppedAt = Date.now();
    patience.stopWaiting(DEADLINE_MS);
    await retention.apply(fence);
    const tookMs = Date.now() - stoppedAt;

    // Half the deadline, then an eighth of it for the try in flight: 2.5 s. Before, 30.0 s: the
    // sweep's read waited for pg's query deadline, and the worker exited at its backstop with its
    // job still held (tools/e2e/worker-shutdown-deadline.int-spec.ts, 2 runs in 6 under load).
    expect(tookMs).toBeGreaterThanOrEqual(DEADLINE_MS / 2);
    expect(tookMs).toBeLessThan(DEADLINE_MS);
    // Given up unanswered: what lets the stopping worker exit without waiting for its backstop.
    expect(patience.unansweredTries).toBe(1);
  }, 60_000);
});

/** Waits (10 s at most) until the run's checkpoint folders are `expected`, then says they are. */
async function foldersSettle(store: CheckpointStore, runId: string, expected: number[]): Promise<void> {
  const by = Date.now() + 10_000;
  let folders = (await store.folders(runId)).map((f) => f.sequence);
  while (JSON.stringify(folders) !== JSON.stringify(expected) && Date.now() < by) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    folders = (await store.folders(runId)).map((f) => f.sequence);
  }
  // The given-up call's last request, once its folder is gone, is answered within moments.
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(folders).toEqual(expected);
}

/**
 * A worker stopping (SIGTERM) while its object store falls silent (a frozen MinIO, a partition that
 * sends no reset) as retention deletes an old checkpoint: the attempt's end waits for retention, so
 * its store calls may not wait for the S3 client's own deadlines (S3_REQUEST_TIMEOUT_MS, 60 s by
 * default, the client's here, each of up to 5 tries). Real s3rver behind a freezable TCP proxy.
 */
describe('CheckpointRetention in a stopping worker whose object store does not answer (real PostgreSQL, s3rver)', () => {
  const DEADLINE_MS = 4000;
  /** How long the test waits for retention before calling it hung (the S3 client would wait minutes). */
  const CAP_MS = 20_000;
  let direct: Database;
  let s3: S3TestServer;
  let s3Proxy: FreezableProxy;
  let store: CheckpointStore;
  let patience: DatabasePatience;
  let retention: CheckpointRetention;
  let freezeOnDelete = true;
  let deletesTried = 0;

  useDatabaseBehindProxy(async (opened) => {
    ({ direct } = opened);
    s3 = await startS3TestServer();
    const target = new URL(s3.endpoint);
    s3Proxy = await startFreezableProxy({ host: target.hostname, port: Number(target.port) });
    // The worker's S3 client, with production's deadlines and retries, reaching s3rver through the proxy.
    const objects = await createObjectStore({
      driver: 's3',
      endpoint: `http://127.0.0.1:${s3Proxy.port}`,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      bucket: s3.bucket,
      region: 'us-east-1',
    });
    // The store falls silent as retention deletes an old checkpoint.
    store = new (class extends CheckpointStore {
      override delete(runId: string, sequence: number) {
        deletesTried += 1;
        if (freezeOnDelete) s3Proxy.freeze();
        return super.delete(runId, sequence);
      }
    })(objects);
    const config = loadConfig({ CHECKPOINT_KEEP_LAST: '1', WORKER_DATABASE_OUTAGE_PATIENCE_MS: '60000' });
    patience = new DatabasePatience(config);
    const checkpoints = new CheckpointsRepository(direct.prisma);
    retention = new CheckpointRetention(
      config,
      store,
      checkpoints,
      new OrphanCheckpointSweeper(store, checkpoints),
      patience,
    );
  });
  afterAll(async () => {
    s3Proxy?.thaw();
    await s3Proxy?.close();
    await s3?.stop();
  });

  it('gives up its store calls at half the shutdown deadline; what it left is deleted once the store answers', async () => {
    const checkpoints = new CheckpointsRepository(direct.prisma);
    const fence = await runWithCheckpoints(direct, store, 'retention in a silent object store', [1, 2]);

    const stoppedAt = Date.now();
    patience.stopWaiting(DEADLINE_MS);
    retention.stopWaiting(DEADLINE_MS);
    const ended = await Promise.race([
      retention.apply(fence).then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), CAP_MS).unref()),
    ]);
    const tookMs = Date.now() - stoppedAt;

    // Half the deadline: 2.0 s. Before, still waiting at the test's 20 s cap (the S3 client's
    // 60 s request deadline, then its retries): the job went back only at the worker's backstop.
    expect(tookMs).toBeLessThan(DEADLINE_MS);
    expect(tookMs).toBeGreaterThanOrEqual(DEADLINE_MS / 2 - 5);
    expect(ended).toBe(true);
    // A silent store is not taken for a silent PostgreSQL (which would end the worker's shutdown early).
    expect(patience.unansweredTries).toBe(0);
    // The checkpoint was marked DELETED before its objects' delete was given up.
    expect((await checkpoints.listByRun(fence.runId)).map((c) => [c.sequence, c.status])).toEqual([
      [1, 'DELETED'],
      [2, 'COMPLETE'],
    ]);

    // The store answers again: the reconciler's sweep of the ended run (or the next attempt's
    // retention) leaves only the kept checkpoint's folder.
    freezeOnDelete = false;
    s3Proxy.thaw();
    await new OrphanCheckpointSweeper(store, checkpoints).sweep(fence.runId, { graceMs: 0 });
    // The delete given up went on too once the store answered: either leaves the kept folder alone.
    await foldersSettle(store, fence.runId, [2]);
  }, 60_000);

  it('gives up at once, untried, a store call that would begin past half the shutdown deadline', async () => {
    const checkpoints = new CheckpointsRepository(direct.prisma);
    const fence = await runWithCheckpoints(direct, store, 'retention begun past half the deadline', [1, 2]);
    // A retention of its own, stopped before this one begins: its pass starts past half the deadline.
    const config = loadConfig({ CHECKPOINT_KEEP_LAST: '1' });
    const late = new CheckpointRetention(
      config,
      store,
      checkpoints,
      new OrphanCheckpointSweeper(store, checkpoints),
      new DatabasePatience(config),
    );
    const SHORT_DEADLINE_MS = 600;
    late.stopWaiting(SHORT_DEADLINE_MS);
    await new Promise((resolve) => setTimeout(resolve, SHORT_DEADLINE_MS / 2 + 100));
    freezeOnDelete = true; // were the delete tried, the store would fall silent for it
    const tried = deletesTried;
    const startedAt = Date.now();
    const ended = await Promise.race([
      late.apply(fence).then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), CAP_MS).unref()),
    ]);
    const tookMs = Date.now() - startedAt;
    freezeOnDelete = false;
    s3Proxy.thaw();

    // Its database calls (answered) and nothing else: the delete was never sent to the store.
    expect(ended).toBe(true);
    expect(tookMs).toBeLessThan(SHORT_DEADLINE_MS);
    expect(deletesTried).toBe(tried);
    expect((await checkpoints.listByRun(fence.runId)).map((c) => [c.sequence, c.status])).toEqual([
      [1, 'DELETED'],
      [2, 'COMPLETE'],
    ]);
    // Left for a later sweep, which deletes it once the worker is not stopping.
    expect((await store.folders(fence.runId)).map((f) => f.sequence)).toEqual([1, 2]);
    await new OrphanCheckpointSweeper(store, checkpoints).sweep(fence.runId, { graceMs: 0 });
    await foldersSettle(store, fence.runId, [2]);
  }, 60_000);
});

/**
 * The same, in a whole worker (Nest, its WorkerHost) stopped with app.close(), as SIGTERM does:
 * what tells retention the worker stops is its shutdown, not a test's call.
 */
describe('CheckpointRetention in a whole worker stopping while its object store does not answer (real PostgreSQL, Redis, s3rver)', () => {
  const DEADLINE_MS = 4000;
  const CAP_MS = 20_000;
  let direct: Database;
  let s3: S3TestServer;
  let s3Proxy: FreezableProxy;
  let home: string;
  let app: INestApplicationContext;

  useDatabaseBehindProxy(async (opened) => {
    ({ direct } = opened);
    s3 = await startS3TestServer();
    const target = new URL(s3.endpoint);
    s3Proxy = await startFreezableProxy({ host: target.hostname, port: Number(target.port) });
    home = await mkdtemp(join(tmpdir(), 'trainyard-retention-'));
    const config = loadConfig({
      ...s3.env(),
      S3_ENDPOINT: `http://127.0.0.1:${s3Proxy.port}`,
      TRAINYARD_HOME: home,
      TRAINYARD_QUEUE: `test-${randomUUID()}`,
      REDIS_URL: `redis://127.0.0.1:${process.env['TRAINYARD_TEST_REDIS_PORT'] ?? 6379}`,
      CHECKPOINT_KEEP_LAST: '1',
      WORKER_SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS),
      WORKER_PRESTART: 'false',
      WORKER_RECONCILE_INTERVAL_MS: '3600000',
    });
    app = await createWorker(config, { database: opened.proxied, logger: false });
  });
  afterAll(async () => {
    s3Proxy?.thaw();
    await app?.close();
    await s3Proxy?.close();
    await s3?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('ends retention within the shutdown deadline of app.close()', async () => {
    const checkpoints = new CheckpointsRepository(direct.prisma);
    const store = app.get<CheckpointStore>(CHECKPOINT_STORE);
    const fence = await runWithCheckpoints(
      direct,
      store,
      'retention in a stopping worker, silent object store',
      [1, 2],
    );

    // The store falls silent; retention (PostgreSQL answering) reaches its delete; the worker stops.
    s3Proxy.freeze();
    const applied = app.get(CheckpointRetention).apply(fence);
    const stoppedAt = Date.now();
    const closed = app.close();
    const ended = await Promise.race([
      applied.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), CAP_MS).unref()),
    ]);
    const tookMs = Date.now() - stoppedAt;
    s3Proxy.thaw();
    await closed;
    // The delete given up goes on once the store answers: let it end before the suite tears down.
    await foldersSettle(store, fence.runId, [2]);

    expect(tookMs).toBeLessThan(DEADLINE_MS);
    expect(ended).toBe(true);
    expect((await checkpoints.listByRun(fence.runId)).map((c) => [c.sequence, c.status])).toEqual([
      [1, 'DELETED'],
      [2, 'COMPLETE'],
    ]);
  }, 60_000);
});
