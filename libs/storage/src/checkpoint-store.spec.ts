import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { CheckpointStore } from './checkpoint-store';
import { CorruptCheckpointError } from './corrupt-checkpoint.error';
import { LocalObjectStore } from './local-object-store';

describe('CheckpointStore', () => {
  let root: string;
  let objects: LocalObjectStore;
  let checkpoints: CheckpointStore;
  const files = {
    'model/model.json': Buffer.from('{"modelTopology":{}}'),
    'model/weights.bin': Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    'optimizer.bin': Buffer.from([9, 9, 9]),
  };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-ckpt-'));
    objects = new LocalObjectStore(root);
    checkpoints = new CheckpointStore(objects);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  async function readError(uri: string): Promise<CorruptCheckpointError> {
    const error = await checkpoints.read(uri).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptCheckpointError);
    return error as CorruptCheckpointError;
  }

  it('writes files then a manifest, and reads them back verified', async () => {
    const written = await checkpoints.write('run-1', 3, files, { epoch: 6, step: 120 });
    expect(written.uri).toBe(objects.uri('runs/run-1/checkpoints/3/'));
    const manifestBytes = await objects.get('runs/run-1/checkpoints/3/manifest.json');
    expect(written.sha256).toBe(createHash('sha256').update(manifestBytes).digest('hex'));
    expect(written.bytes).toBe(20 + 256 + 3 + manifestBytes.length);
    const manifest = JSON.parse(manifestBytes.toString());
    expect(manifest.version).toBe(1);
    expect(manifest.files['optimizer.bin']).toEqual({
      sha256: createHash('sha256').update(files['optimizer.bin']).digest('hex'),
      bytes: 3,
    });

    const read = await checkpoints.read(written.uri);
    expect(read.meta).toEqual({ epoch: 6, step: 120 });
    expect(Object.keys(read.files).sort()).toEqual(Object.keys(files).sort());
    expect(read.files['model/weights.bin'].equals(files['model/weights.bin'])).toBe(true);
  });

  it('reads only the files of one model when asked, verified, and nothing of the others', async () => {
    const files = {
      'encoder/model.json': Buffer.from('{"e":1}'),
      'encoder/weights.bin': Buffer.from([1, 2, 3]),
      'autoencoder/model.json': Buffer.from('{"a":1}'),
      'autoencoder/weights.bin': Buffer.alloc(4096, 7),
      'state.json': Buffer.from('{}'),
    };
    const { uri } = await checkpoints.write('run-1', 4, files, {});
    // Gone: a read of it would fail, so only a read that leaves it alone succeeds.
    await objects.delete(['runs/run-1/checkpoints/4/autoencoder/weights.bin']);
    const read = await checkpoints.read(uri, { only: 'encoder/' });
    expect(Object.keys(read.files).sort()).toEqual(['encoder/model.json', 'encoder/weights.bin']);
    expect(read.files['encoder/weights.bin'].equals(files['encoder/weights.bin'])).toBe(true);
    await writeFile(join(root, 'runs/run-1/checkpoints/4/encoder/weights.bin'), Buffer.from([1, 2, 4]));
    expect((await checkpoints.read(uri, { only: 'encoder/' }).catch((e: Error) => e.message)) as string).toMatch(
      /encoder\/weights\.bin: sha256 is/,
    );
  });

  it('detects a flipped byte and names the file and the checkpoint', async () => {
    const { uri } = await checkpoints.write('run-1', 1, files, {});
    const path = join(root, 'runs/run-1/checkpoints/1/model/weights.bin');
    const bytes = await readFile(path);
    bytes[100] ^= 0xff;
    await writeFile(path, bytes);

    const error = await readError(uri);
    expect(error.file).toBe('model/weights.bin');
    expect(error.uri).toBe(uri);
    expect(error.message).toContain('model/weights.bin');
    expect(error.message).toContain(uri);
    expect(error.message).toMatch(/sha256/);
  });

  it('detects a truncated or missing file', async () => {
    const { uri } = await checkpoints.write('run-1', 1, files, {});
    await writeFile(join(root, 'runs/run-1/checkpoints/1/optimizer.bin'), Buffer.from([9]));
    expect((await readError(uri)).message).toMatch(/optimizer\.bin: size is 1 bytes, manifest says 3/);
    await objects.delete(['runs/run-1/checkpoints/1/optimizer.bin']);
    expect((await readError(uri)).message).toMatch(/optimizer\.bin: file is missing/);
  });

  it('treats a folder without manifest as an incomplete checkpoint, not listed and not readable', async () => {
    const { uri } = await checkpoints.write('run-1', 1, files, {});
    await checkpoints.write('run-1', 2, files, {});
    // A worker that died mid-upload: files, no manifest.
    await objects.put('runs/run-1/checkpoints/3/model/model.json', files['model/model.json']);
    expect(await checkpoints.list('run-1')).toEqual([1, 2]);
    const error = await readError(objects.uri('runs/run-1/checkpoints/3/'));
    expect(error.file).toBe('manifest.json');
    expect(error.message).toMatch(/incomplete checkpoint/);

    await objects.delete(['runs/run-1/checkpoints/1/manifest.json']);
    expect((await readError(uri)).message).toMatch(/incomplete checkpoint/);
  });

  it('rejects a manifest that is not one', async () => {
    const { uri } = await checkpoints.write('run-1', 1, files, {});
    await objects.put('runs/run-1/checkpoints/1/manifest.json', Buffer.from('{"version":2}'));
    expect((await readError(uri)).message).toMatch(/manifest\.json: not a version 1 manifest/);
    await objects.put('runs/run-1/checkpoints/1/manifest.json', Buffer.from('{'));
    expect((await readError(uri)).message).toMatch(/manifest\.json: not valid JSON/);
  });

  it('deletes a checkpoint, manifest first', async () => {
    await checkpoints.write('run-1', 1, files, {});
    await checkpoints.write('run-1', 10, files, {});
    await checkpoints.delete('run-1', 1);
    expect(await checkpoints.list('run-1')).toEqual([10]);
    expect(await objects.list('runs/run-1/checkpoints/1/')).toEqual([]);
  });

  it('refuses paths that would escape the checkpoint folder', async () => {
    await expect(checkpoints.write('run-1', 1, { '../x': Buffer.from('x') }, {})).rejects.toThrow(/Invalid object key/);
    await expect(checkpoints.write('a/b', 1, files, {})).rejects.toThrow(/Invalid run id/);
    await expect(checkpoints.write('run-1', -1, files, {})).rejects.toThrow(/non-negative integer/);
    expect(() => checkpoints.prefix('run-1', 7)).not.toThrow();
    expect(checkpoints.prefix('run-1', 7)).toBe('runs/run-1/checkpoints/7/');
  });

  it('lists every numbered folder, complete or not, with its newest object time, and nothing else', async () => {
    await checkpoints.write('run-1', 2, files, {});
    await objects.put('runs/run-1/checkpoints/1001/model/weights.bin', Buffer.from('half an upload'));
    await objects.put('runs/run-1/checkpoints/notes/readme.txt', Buffer.from('not a checkpoint'));
    await objects.put('runs/run-1/checkpoints/007/x', Buffer.from('not how sequences are written'));
    await objects.put('runs/run-10/checkpoints/3/x', Buffer.from('another run'));
    const old = new Date('2021-05-06T07:08:09Z');
    await utimes(join(root, 'runs/run-1/checkpoints/1001/model/weights.bin'), old, old);
    const folders = await checkpoints.folders('run-1');
    expect(folders.map(({ sequence, objects: count, complete }) => ({ sequence, count, complete }))).toEqual([
      { sequence: 2, count: 4, complete: true },
      { sequence: 1001, count: 1, complete: false },
    ]);
    expect(folders[1]!.lastModified.getTime()).toBe(old.getTime());
    expect(Date.now() - folders[0]!.lastModified.getTime()).toBeLessThan(60_000);
    await expect(checkpoints.folders('a/b')).rejects.toThrow(/Invalid run id/);
  });
});
