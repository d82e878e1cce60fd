import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidObjectKeyError } from './invalid-object-key.error';
import { LocalObjectStore } from './local-object-store';
import { ObjectNotFoundError } from './object-not-found.error';
import { keyFromUri, type StoredObject } from './object-store';

// lastModified is checked on its own (a Date from fs is not of Jest's realm, so toEqual would not match it).
const keysAndSizes = (objects: StoredObject[]) => objects.map(({ key, size }) => ({ key, size }));

describe('LocalObjectStore', () => {
  let root: string;
  let store: LocalObjectStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-local-store-'));
    store = new LocalObjectStore(join(root, 'objects'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('puts, gets, overwrites, lists and deletes', async () => {
    await store.put('runs/a/checkpoints/1/model.json', Buffer.from('{"v":1}'));
    await store.put('runs/a/checkpoints/1/weights.bin', Buffer.from([1, 2, 3]));
    await store.put('runs/b/x', Buffer.from('b'));
    await store.put('runs/a/checkpoints/1/model.json', Buffer.from('{"v":2}'));

    expect((await store.get('runs/a/checkpoints/1/model.json')).toString()).toBe('{"v":2}');
    expect(keysAndSizes(await store.list('runs/a/'))).toEqual([
      { key: 'runs/a/checkpoints/1/model.json', size: 7 },
      { key: 'runs/a/checkpoints/1/weights.bin', size: 3 },
    ]);
    expect((await store.list('runs/')).map((o) => o.key)).toHaveLength(3);
    expect(keysAndSizes(await store.list('runs/a/checkpoints/1/w'))).toEqual([
      { key: 'runs/a/checkpoints/1/weights.bin', size: 3 },
    ]);
    expect(await store.list('nothing/here/')).toEqual([]);

    await store.delete(['runs/a/checkpoints/1/model.json', 'runs/does-not-exist']);
    expect((await store.list('')).map((o) => o.key)).toEqual(['runs/a/checkpoints/1/weights.bin', 'runs/b/x']);
  });

  it('removes the folders a delete empties, up to the root, and puts into them again', async () => {
    await store.put('up/1/cat/a.png', Buffer.from('a'));
    await store.put('up/1/dog/b.png', Buffer.from('b'));
    await store.put('up/2/cat/c.png', Buffer.from('c'));
    await store.delete(['up/1/cat/a.png']);
    expect(await store.subfolders('up/1/')).toEqual(['up/1/dog/']);
    await store.delete(['up/1/dog/b.png', 'up/1/missing/x.png']);
    expect(await store.subfolders('up/')).toEqual(['up/2/']);
    await store.delete(['up/2/cat/c.png']);
    expect(await readdir(store.root)).toEqual([]);
    await store.put('up/1/cat/a.png', Buffer.from('again'));
    expect((await store.get('up/1/cat/a.png')).toString()).toBe('again');
  });

  it('loses no put to a delete emptying the same folders at the same time', async () => {
    for (let round = 0; round < 20; round++) {
      await store.put('race/deep/old.bin', Buffer.from('old'));
      await Promise.all([
        store.delete(['race/deep/old.bin']),
        store.put(`race/deep/new-${round}.bin`, Buffer.from('new')),
      ]);
      expect((await store.get(`race/deep/new-${round}.bin`)).toString()).toBe('new');
      await store.delete([`race/deep/new-${round}.bin`]);
    }
    expect(await readdir(store.root)).toEqual([]);
  });

  it('maps a missing object to ObjectNotFoundError naming key and store', async () => {
    const error = await store.get('runs/missing/model.json').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObjectNotFoundError);
    expect((error as Error).message).toContain('runs/missing/model.json');
    expect((error as Error).message).toContain(store.description);
  });

  it('streams an object with its size, and maps a missing one (or a folder) to ObjectNotFoundError before any byte', async () => {
    const body = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => (i * 7) % 256));
    await store.put('runs/a/checkpoints/1/weights.bin', body);
    const opened = await store.getStream('runs/a/checkpoints/1/weights.bin');
    expect(opened.size).toBe(body.length);
    const chunks: Buffer[] = [];
    for await (const chunk of opened.body) chunks.push(chunk as Buffer);
    // Streamed, not read whole: a 3 MiB file arrives in several chunks.
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);

    for (const key of ['runs/a/checkpoints/1/nope.bin', 'runs/a/checkpoints/1', 'runs/a/checkpoints/1/weights.bin/x']) {
      const error = await store.getStream(key).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ObjectNotFoundError);
      expect((error as Error).message).toContain(key);
    }
  });

  it('streams a byte range of an object, its size the range’s', async () => {
    const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    await store.put('runs/a/checkpoints/1/ranged.bin', body);
    for (const range of [
      { start: 0, end: 0 },
      { start: 100, end: 199 },
      { start: 900, end: 999 },
    ]) {
      const part = await store.getStream('runs/a/checkpoints/1/ranged.bin', range);
      expect(part.size).toBe(range.end - range.start + 1);
      const bytes: Buffer[] = [];
      for await (const chunk of part.body) bytes.push(chunk as Buffer);
      expect(Buffer.concat(bytes).equals(body.subarray(range.start, range.end + 1))).toBe(true);
    }
  });

  it('refuses a FIFO swapped in for an object at once, without holding the threads every file read needs', async () => {
    await store.put('datasets/pets/cat/1.png', Buffer.from('png'));
    for (const i of [2, 3, 4, 5, 6]) execFileSync('mkfifo', [join(root, 'objects', 'datasets/pets/cat', `${i}.png`)]);
    // More reads than libuv has threads (4): a blocking open() of a FIFO with no writer never returns.
    const reads = [2, 3, 4, 5, 6].flatMap((i) => [
      store.get(`datasets/pets/cat/${i}.png`),
      store.getStream(`datasets/pets/cat/${i}.png`),
    ]);
    for (const read of reads) await expect(read).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect((await store.get('datasets/pets/cat/1.png')).toString()).toBe('png');
    // Nor is a FIFO listed.
    expect((await store.list('datasets/pets/')).map((o) => o.key)).toEqual(['datasets/pets/cat/1.png']);
  }, 10_000);

  it('lists the folders right under a folder, not the objects below them, nor links', async () => {
    for (const key of ['up/b/1.png', 'up/b/deep/2.png', 'up/a/1.png', 'up/file.txt', 'other/c/1.png'])
      await store.put(key, Buffer.from(key));
    execFileSync('ln', ['-s', join(root, 'objects', 'other'), join(root, 'objects', 'up', 'link')]);
    expect(await store.subfolders('up/')).toEqual(['up/a/', 'up/b/']);
    expect(await store.subfolders('up/b/')).toEqual(['up/b/deep/']);
    expect(await store.subfolders('nothing/')).toEqual([]);
  });

  it('reports when each listed object was last written', async () => {
    await store.put('t/old', Buffer.from('o'));
    await store.put('t/new', Buffer.from('n'));
    const then = new Date('2020-01-02T03:04:05Z');
    await utimes(join(store.root, 't', 'old'), then, then);
    const listed = await store.list('t/');
    expect(listed.find((o) => o.key === 't/old')!.lastModified.getTime()).toBe(then.getTime());
    expect(Date.now() - listed.find((o) => o.key === 't/new')!.lastModified.getTime()).toBeLessThan(60_000);
    await mkdir(join(store.root, 't', 'empty-folder'));
    expect((await store.list('t/')).map((o) => o.key)).toEqual(['t/new', 't/old']);
  });

  it('round-trips uris', () => {
    const uri = store.uri('runs/a/checkpoints/2/');
    expect(uri).toMatch(/^file:\/\/\/.*\/objects\/runs\/a\/checkpoints\/2\/$/);
    expect(keyFromUri(store, uri)).toBe('runs/a/checkpoints/2/');
    expect(() => keyFromUri(store, 's3://bucket/runs/a')).toThrow(/does not belong/);
  });

  it.each(['../escape', 'a/../../escape', '/etc/passwd', 'a//b', './a', 'a\\..\\b', 'a/', '', 'x.partial'])(
    'rejects the key %j',
    async (key) => {
      await expect(store.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidObjectKeyError);
      await expect(store.get(key)).rejects.toBeInstanceOf(InvalidObjectKeyError);
      await expect(store.getStream(key)).rejects.toBeInstanceOf(InvalidObjectKeyError);
    },
  );

  it('rejects a list prefix that climbs out of the root', async () => {
    await expect(store.list('../')).rejects.toBeInstanceOf(InvalidObjectKeyError);
  });

  it('leaves no temp files behind and never lists a half-written one', async () => {
    await store.put('a/b.bin', Buffer.alloc(1024, 7));
    expect(await readdir(join(store.root, 'a'))).toEqual(['b.bin']);
    // What a crash between write and rename leaves: a temp file next to the target.
    await writeFile(join(store.root, 'a', 'b.bin.0123456789ab.partial'), 'half');
    expect(keysAndSizes(await store.list('a/'))).toEqual([{ key: 'a/b.bin', size: 1024 }]);
    expect((await store.get('a/b.bin')).equals(Buffer.alloc(1024, 7))).toBe(true);
  });

  it('keeps concurrent writers of one key from interleaving', async () => {
    const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(64 * 1024, i));
    await Promise.all(bodies.map((b) => store.put('same/key', b)));
    const result = await store.get('same/key');
    expect(bodies.some((b) => b.equals(result))).toBe(true);
  });

  it('pings, creating the root', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
});
