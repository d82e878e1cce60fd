import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardCache } from './shard-cache';

const sha = (n: number) => n.toString(16).padStart(64, '0');

describe('ShardCache', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'trainyard-shard-cache-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps the most recently used shards within its size cap', async () => {
    const cache = new ShardCache({ dir, maxBytes: 250 });
    await cache.put(sha(1), Buffer.alloc(100, 1));
    await cache.put(sha(2), Buffer.alloc(100, 2));
    // Shard 1 was used after shard 2: shard 2 is the one to go.
    const old = new Date(Date.now() - 60_000);
    await utimes(join(dir, `${sha(2)}.tar`), old, old);
    await utimes(join(dir, `${sha(1)}.tar`), old, old);
    expect(await cache.get(sha(1))).toEqual(Buffer.alloc(100, 1));
    await cache.put(sha(3), Buffer.alloc(100, 3));
    expect(await cache.get(sha(2))).toBeUndefined();
    expect(await cache.get(sha(1))).toBeDefined();
    expect(await cache.get(sha(3))).toBeDefined();
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('never caches a shard larger than the cap', async () => {
    const cache = new ShardCache({ dir, maxBytes: 10 });
    await cache.put(sha(1), Buffer.alloc(11));
    expect(await readdir(dir)).toEqual([]);
  });

  it('never throws: a cache it cannot write only counts a failure', async () => {
    const file = join(dir, 'not-a-folder');
    await writeFile(file, 'x');
    const cache = new ShardCache({ dir: join(file, 'cache'), maxBytes: 1000 });
    await expect(cache.put(sha(1), Buffer.alloc(5))).resolves.toBeUndefined();
    await expect(cache.get(sha(1))).resolves.toBeUndefined();
    expect(cache.failures).toBeGreaterThan(0);
  });
});
