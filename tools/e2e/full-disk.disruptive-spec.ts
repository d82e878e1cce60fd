import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore, LocalObjectStore, StoreFullError } from '@trainyard/storage';
import { Cluster, tinyPretrain } from './cluster';
import { waitFor } from './processes';

/** Room for two of the tiny pretrain's checkpoints (about 250 KiB each) and its logs, not three. */
const FULL_SIZE = '700k';
const ENOSPC =
  /cannot write "runs\/[^"]+\/checkpoints\/\d+\/[^"]+" to \S+: no space left on the device \(ENOSPC\): the disk holding the local object store is full/;

/**
 * A full disk under the local object store (`$TRAINYARD_HOME/objects`, the demo's default): a
 * tmpfs of 700 KiB mounted there, then remounted larger. Mounts, so it runs as root in the
 * `disruptive` project, and fails (never skips) when the mount is refused. Before, the run failed
 * for good in seconds, its attempts spent, with `ENOSPC: no space left on device, write`, which
 * names neither the file nor the store; now the write names both and says the disk is full, the
 * run waits for room as for an unreachable store, no checkpoint whose files failed is recorded,
 * and once there is room it resumes from its last complete checkpoint and succeeds.
 */
describe('a full disk under the local object store (tmpfs mounted, real processes)', () => {
  let home: string;
  let objects: string;
  let mounted = false;
  let cluster: Cluster | undefined;

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'trainyard-full-disk-'));
    objects = join(home, 'objects');
    mkdirSync(objects);
    // Loud, not skipped: this machine and CI run as root, where mounting a tmpfs works.
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${FULL_SIZE}`, 'tmpfs', objects]);
    mounted = true;
  });
  afterAll(async () => {
    await cluster?.stop();
    if (mounted) execFileSync('umount', [objects]);
    rmSync(home, { recursive: true, force: true });
  });

  it('a put that does not fit names the key and the file, says the disk is full, and leaves nothing behind', async () => {
    const store = new LocalObjectStore(objects);
    const error = await store.put('probe/too-big.bin', Buffer.alloc(2 * 1024 * 1024, 1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreFullError);
    expect((error as Error).message).toBe(
      `cannot write "probe/too-big.bin" to ${join(objects, 'probe', 'too-big.bin')}: no space left on the device (ENOSPC): the disk holding the local object store is full; free space there`,
    );
    expect(readdirSync(join(objects, 'probe'))).toEqual([]);
    rmSync(join(objects, 'probe'), { recursive: true, force: true });
  });

  it('a run waits for room naming the file, records no checkpoint it could not write, and succeeds once there is room', async () => {
    const none = { S3_ENDPOINT: '', S3_ACCESS_KEY: '', S3_SECRET_KEY: '', S3_BUCKET: '' };
    cluster = await Cluster.start({ ...none, TRAINYARD_HOME: home });
    await cluster.startWorker({ WORKER_MAX_ATTEMPTS: '2' });
    const runId = await cluster.submit(tinyPretrain(`disk full ${randomUUID()}`, 12));

    // The third checkpoint does not fit: the run waits for the store, saying which file and why.
    const waiting = await waitFor(
      'the run to wait for room',
      async () => {
        const run = await cluster!.run(runId);
        return run.failureReason?.startsWith('waiting for the object store') ? run : undefined;
      },
      60_000,
    );
    expect(waiting.status).not.toBe('FAILED');
    expect(waiting.failureReason).toMatch(ENOSPC);

    // Every checkpoint recorded COMPLETE is whole: its manifest's files are there with their sha256.
    const checkpoints = new CheckpointStore(new LocalObjectStore(objects));
    const { rows } = await cluster.pg.query<{ uri: string }>(
      `SELECT uri FROM checkpoints WHERE run_id = $1 AND status = 'COMPLETE' ORDER BY sequence`,
      [runId],
    );
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const { uri } of rows) await expect(checkpoints.read(uri)).resolves.toBeDefined();

    // Room again: the run resumes from its last complete checkpoint and succeeds, its attempts unspent.
    execFileSync('mount', ['-o', 'remount,size=16m', objects]);
    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED'], 120_000);
    expect({ status: run.status, reason: run.failureReason }).toEqual({ status: 'SUCCEEDED', reason: null });
    const attempts = await cluster.attempts(runId);
    expect(attempts.at(-1)!.outcome).toBe('SUCCEEDED');
    expect(attempts.slice(0, -1).every((a) => ENOSPC.test(a.error ?? ''))).toBe(true);
  }, 240_000);
});
