import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSpec } from '@trainyard/contracts';
import {
  AttemptsRepository,
  AttemptWritesRepository,
  CheckpointsRepository,
  FencedError,
  openDatabase,
  RunsRepository,
  type Database,
  type Fence,
} from '@trainyard/db';
import { createFreshDatabase, type FreshDatabase } from '@trainyard/db/testing';
import { CheckpointStore, LocalObjectStore, runLogChunkKey, type ObjectStore } from '@trainyard/storage';
import { startS3TestServer, type S3TestServer } from '@trainyard/storage/testing';
import { OrphanCheckpointSweeper } from './orphan-checkpoints.sweeper';

const spec = { kind: 'pretrain', name: 'ae', dataset: { source: 'mnist' } } as unknown as RunSpec;
const files = { 'model/model.json': Buffer.from('{"modelTopology":{}}'), 'model/weights.bin': Buffer.alloc(2048, 5) };
/** s3rver's LastModified cannot be set back, so "later" is passed to the sweep instead. */
const anHourLater = () => new Date(Date.now() + 60 * 60_000);

/**
 * Orphan checkpoint folders on real PostgreSQL and a real store (a folder, and S3 over HTTP):
 * a replaced attempt's upload and a crashed partial one go, recorded checkpoints, the current
 * attempt's upload in flight and everything outside the run's checkpoints prefix stay.
 */
describe.each(['local', 's3'] as const)('OrphanCheckpointSweeper (PostgreSQL, %s store)', (kind) => {
  let fresh: FreshDatabase;
  let db: Database;
  let s3: S3TestServer | undefined;
  let folder: string | undefined;
  let objects: ObjectStore;
  let store: CheckpointStore;
  let runs: RunsRepository;
  let attempts: AttemptsRepository;
  let writes: AttemptWritesRepository;
  let checkpoints: CheckpointsRepository;
  let sweeper: OrphanCheckpointSweeper;

  beforeAll(async () => {
    fresh = await createFreshDatabase();
    db = await openDatabase({ url: fresh.url, embeddedPath: '' });
    if (kind === 's3') {
      s3 = await startS3TestServer();
      objects = await s3.objectStore();
    } else {
      folder = await mkdtemp(join(tmpdir(), 'trainyard-orphans-'));
      objects = new LocalObjectStore(folder);
    }
    store = new CheckpointStore(objects);
    runs = new RunsRepository(db.prisma);
    attempts = new AttemptsRepository(db.prisma);
    writes = new AttemptWritesRepository(db.prisma);
    checkpoints = new CheckpointsRepository(db.prisma);
    sweeper = new OrphanCheckpointSweeper(store, checkpoints);
  });
  afterAll(async () => {
    await db?.close();
    await fresh?.drop();
    await s3?.stop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  /** What the worker does: upload the folder (manifest last), then record it under the fence. */
  async function checkpoint(fence: Fence, sequence: number): Promise<void> {
    const written = await store.write(fence.runId, sequence, files, { sequence });
    await checkpoints.recordComplete(fence, {
      sequence,
      epoch: 1,
      step: sequence,
      models: ['autoencoder'],
      ...written,
    });
  }

  const keys = async (prefix: string) => (await objects.list(prefix)).map((o) => o.key);

  it("deletes a replaced attempt's and a crashed upload's folders, keeps recorded ones and the current upload, then sweeps the rest once the run ended", async () => {
    const run = await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'orphans', spec, baseRunId: null });
    const other = await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'neighbour', spec, baseRunId: null });
    const first = await attempts.openCurrent(run.id, null);
    const fence1 = { runId: run.id, attemptId: first.attempt.id };
    await checkpoint(fence1, 1);

    // Attempt 2 takes the run over (attempt 1 lost its lock) and checkpoints in its own block.
    const second = await attempts.openCurrent(run.id, null);
    const fence2 = { runId: run.id, attemptId: second.attempt.id };
    expect(second.attempt.number).toBe(2);
    await checkpoint(fence2, 1001);

    // Attempt 1 wakes up: it uploads checkpoint 2 whole, then is refused its record; it had
    // also died once mid-upload of 3 (no manifest). Attempt 2 is uploading 1002 right now.
    await expect(checkpoint(fence1, 2)).rejects.toBeInstanceOf(FencedError);
    await objects.put(`runs/${run.id}/checkpoints/3/model/weights.bin`, Buffer.alloc(100, 1));
    await objects.put(`runs/${run.id}/checkpoints/1002/model/weights.bin`, Buffer.alloc(100, 2));
    // Not checkpoint folders, or not this run's: never touched. The log of every attempt, the
    // replaced one's included, stays too.
    const logs = [1, 2].map((attempt) => runLogChunkKey(run.id, { attempt, sequence: 1 }));
    for (const key of [`runs/${run.id}/augmentation.png`, `runs/${run.id}/checkpoints/notes/todo.txt`, ...logs])
      await objects.put(key, Buffer.from('x'));
    await store.write(other.id, 2, files, {});
    const outside = [`runs/${run.id}/augmentation.png`, `runs/${run.id}/checkpoints/notes/todo.txt`, ...logs];

    // Everything was written a moment ago: within the grace period nothing goes.
    expect(await sweeper.sweep(run.id)).toEqual([]);
    expect((await store.folders(run.id)).map((f) => f.sequence)).toEqual([1, 2, 3, 1001, 1002]);

    // Past it: attempt 1's block goes except its recorded checkpoint; attempt 2's block stays.
    expect(await sweeper.sweep(run.id, { now: anHourLater() })).toEqual([2, 3]);
    expect((await store.folders(run.id)).map((f) => f.sequence)).toEqual([1, 1001, 1002]);
    expect((await store.read(store.store.uri(store.prefix(run.id, 1)))).files['model/weights.bin']).toEqual(
      files['model/weights.bin'],
    );
    await expect(store.read(store.store.uri(store.prefix(run.id, 1001)))).resolves.toBeDefined();

    // The run ends; its last sweep (the reconciler's, once it has ended) takes the upload that
    // never got recorded, and only that.
    await writes.conclude(fence2, { attempt: 'SUCCEEDED', run: 'SUCCEEDED' });
    expect(await sweeper.sweep(run.id, { now: anHourLater() })).toEqual([1002]);
    expect((await store.folders(run.id)).map((f) => f.sequence)).toEqual([1, 1001]);
    expect((await checkpoints.resumePoint(run.id)).candidates).toEqual([
      expect.objectContaining({ sequence: 1001 }),
      expect.objectContaining({ sequence: 1 }),
    ]);
    for (const key of outside) expect(await keys(key)).toEqual([key]);
    expect(await store.list(other.id)).toEqual([2]);
  });

  it('removes what an interrupted retention delete left of a DELETED checkpoint', async () => {
    const run = await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'retention', spec, baseRunId: null });
    const opened = await attempts.openCurrent(run.id, null);
    const fence = { runId: run.id, attemptId: opened.attempt.id };
    await checkpoint(fence, 1);
    await checkpoint(fence, 2);
    const [victim] = await checkpoints.listByRun(run.id);
    expect(await checkpoints.markDeleted(fence, [victim!.id])).toEqual([victim!.id]);
    // Retention removes the manifest first; the worker died before the rest.
    await objects.delete([`${store.prefix(run.id, 1)}manifest.json`]);

    expect(await sweeper.sweep(run.id, { now: anHourLater() })).toEqual([1]);
    expect(await keys(store.prefix(run.id, 1))).toEqual([]);
    expect(await store.list(run.id)).toEqual([2]);
  });
});
