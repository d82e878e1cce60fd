import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageCache } from './image-cache';
import { ShardCache } from './packed/shard-cache';

/**
 * A worker node's disk fills up under its dataset caches ($TRAINYARD_HOME/cache): a tmpfs of 256 KiB
 * mounted there (so this runs as root in the `disruptive` project, failing, not skipping, when the
 * mount is refused). A write that does not fit is a failure the cache counts and swallows (the
 * training decodes or downloads again), and leaves no entry, whole or half, that a later run
 * would read: the next get is a miss, and nothing but what fitted is in the folder.
 */
describe('dataset caches on a full disk (tmpfs mounted)', () => {
  let dir: string;
  let mounted = false;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-full-cache-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]);
    mounted = true;
  });
  afterAll(() => {
    if (mounted) execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  const files = (folder: string): string[] =>
    readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name);

  it('the image cache counts the failed write, keeps no entry of it, and misses', async () => {
    expect(statfsSync(dir).blocks * statfsSync(dir).bsize).toBeLessThanOrEqual(256 * 1024);
    const cache = new ImageCache(join(dir, 'images'));
    const shape = [256, 256, 3] as const; // 192 KiB: fits once, not twice
    const fits = new Uint8Array(256 * 256 * 3).fill(7);
    await cache.put('a'.repeat(64), [...shape], 'cover', { kind: 'pixels', pixels: fits });
    await cache.put('b'.repeat(64), [...shape], 'cover', { kind: 'pixels', pixels: fits });
    expect(cache.failures).toBe(1);
    expect(await cache.get('a'.repeat(64), [...shape], 'cover')).toMatchObject({ kind: 'pixels' });
    expect(await cache.get('b'.repeat(64), [...shape], 'cover')).toBeUndefined();
    expect(files(join(dir, 'images'))).toEqual([expect.stringMatching(/^a{64}-256x256x3-cover-v\d+\.u8$/)]);
    rmSync(join(dir, 'images'), { recursive: true, force: true });
  });

  it('the shard cache counts the failed write, keeps no entry of it, and misses', async () => {
    mkdirSync(join(dir, 'shards'));
    const cache = new ShardCache({ dir: join(dir, 'shards'), maxBytes: 10 * 1024 * 1024 });
    const shard = Buffer.alloc(300 * 1024, 3);
    const sha = createHash('sha256').update(shard).digest('hex');
    await cache.put(sha, shard);
    expect(cache.failures).toBe(1);
    expect(await cache.get(sha)).toBeUndefined();
    expect(files(join(dir, 'shards'))).toEqual([]);
  });
});
