import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECKPOINT_MANIFEST, CheckpointStore, LocalObjectStore } from '@trainyard/storage';
import { withUnrecordedCheckpoints } from './unrecorded-checkpoints';

// A real folder store: the folders are files the checkpoint store lists.
describe('withUnrecordedCheckpoints', () => {
  let root: string;
  let store: CheckpointStore;
  const runId = randomUUID();

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-unrecorded-'));
    store = new CheckpointStore(new LocalObjectStore(root));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  /** A checkpoint folder in the store: complete with its manifest, else a shard alone. */
  const folder = async (sequence: number, complete = true) => {
    const prefix = store.prefix(runId, sequence);
    await store.store.put(`${prefix}weights.bin`, Buffer.from('w'));
    if (complete) await store.store.put(`${prefix}${CHECKPOINT_MANIFEST}`, Buffer.from('{}'));
  };
  const recorded = (...sequences: number[]) => ({
    candidates: sequences.map((sequence) => ({ sequence, uri: store.store.uri(store.prefix(runId, sequence)) })),
    nextSequence: Math.max(0, ...sequences) + 1,
  });

  it('tries the recorded checkpoints alone while one is left in the store, as an attempt killed before recording its last leaves it', async () => {
    await folder(1);
    await folder(2);
    await folder(3); // uploaded, never recorded: its epochs' metric points may not have reached PostgreSQL
    await folder(4, false);
    const plan = await withUnrecordedCheckpoints(store, runId, recorded(2, 1));
    expect(plan.candidates.map((c) => c.sequence)).toEqual([2, 1]);
    expect(plan.unrecorded).toEqual([]);
    expect(plan.lastSequence).toBe(4); // its own are numbered past every folder
  });

  it('tries the complete folders past the recorded ones first, newest first, once none it records is left (a restore older than the bucket)', async () => {
    await folder(5);
    await folder(6);
    await folder(7, false);
    const plan = await withUnrecordedCheckpoints(store, runId, recorded(2, 1));
    expect(plan.candidates.map((c) => c.sequence)).toEqual([6, 5, 2, 1]);
    expect(plan.unrecorded).toEqual([6, 5]);
    expect(plan.lastSequence).toBe(7);
  });

  it('starts as before when PostgreSQL records no checkpoint, whatever the store holds', async () => {
    await folder(1);
    const plan = await withUnrecordedCheckpoints(store, runId, recorded());
    expect(plan.candidates).toEqual([]);
    expect(plan.lastSequence).toBe(1);
  });
});
