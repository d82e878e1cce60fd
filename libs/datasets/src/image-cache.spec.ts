import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_IMAGE_CACHE_BYTES } from '@trainyard/config';
import { ImageCache } from './image-cache';
import type { ImageShape } from './image-decode';

const hash = (n: number) => n.toString(16).padStart(64, '0');
/** 100 bytes of pixels per image. */
const shape: ImageShape = [10, 10, 1];
const pixels = (n: number) => ({ kind: 'pixels' as const, pixels: new Uint8Array(100).fill(n) });

/** Every file under the cache's fan-out folders, by name. */
async function files(dir: string): Promise<string[]> {
  const folders = (await readdir(dir).catch(() => [])).filter((name) => /^[0-9a-f]{2}$/.test(name));
  const names = await Promise.all(folders.map((folder) => readdir(join(dir, folder))));
  return names.flat().sort();
}

async function bytesHeld(dir: string): Promise<number> {
  const folders = (await readdir(dir)).filter((name) => /^[0-9a-f]{2}$/.test(name));
  let total = 0;
  for (const folder of folders)
    for (const name of await readdir(join(dir, folder))) total += (await stat(join(dir, folder, name))).size;
  return total;
}

/** Sets an entry's last use `secondsAgo` in the past. */
async function usedAgo(cache: ImageCache, n: number, secondsAgo: number): Promise<void> {
  const at = new Date(Date.now() - secondsAgo * 1000);
  await utimes(cache.pixelsPath(hash(n), shape, 'cover'), at, at);
}

describe('ImageCache', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'trainyard-image-cache-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('serves what it stored, pixels and failures, and nothing for an image it never saw', async () => {
    const cache = new ImageCache(dir);
    expect(cache.maxBytes).toBe(DEFAULT_IMAGE_CACHE_BYTES);
    await cache.put(hash(1), shape, 'cover', pixels(7));
    await cache.put(hash(2), shape, 'cover', { kind: 'unreadable', reason: 'not a readable image: truncated' });
    expect(await cache.get(hash(1), shape, 'cover')).toEqual(pixels(7));
    expect(await cache.get(hash(2), shape, 'cover')).toEqual({
      kind: 'unreadable',
      reason: 'not a readable image: truncated',
    });
    expect(await cache.get(hash(1), shape, 'fill')).toBeUndefined();
    expect(await cache.get(hash(3), shape, 'cover')).toBeUndefined();
  });

  it('keeps the most recently used images within its size cap, a hit counting as a use', async () => {
    const cache = new ImageCache(dir, { maxBytes: 250 });
    await cache.put(hash(1), shape, 'cover', pixels(1));
    await cache.put(hash(2), shape, 'cover', pixels(2));
    await usedAgo(cache, 1, 120);
    await usedAgo(cache, 2, 60);
    // Image 1 is read now: image 2 becomes the least recently used, and goes when image 3 comes.
    expect(await cache.get(hash(1), shape, 'cover')).toEqual(pixels(1));
    await cache.put(hash(3), shape, 'cover', pixels(3));
    expect(await cache.get(hash(2), shape, 'cover')).toBeUndefined();
    expect(await cache.get(hash(1), shape, 'cover')).toEqual(pixels(1));
    expect(await cache.get(hash(3), shape, 'cover')).toEqual(pixels(3));
    expect(await bytesHeld(dir)).toBeLessThanOrEqual(250);
    // Many more: the folder never holds more than the cap after a put.
    for (let n = 4; n < 40; n++) {
      await cache.put(hash(n), shape, 'cover', pixels(n));
      expect(await bytesHeld(dir)).toBeLessThanOrEqual(250);
    }
    expect(await cache.get(hash(39), shape, 'cover')).toEqual(pixels(39));
    expect(cache.failures).toBe(0);
  });

  it('learns what the folder held before it started (another process, an earlier run) and evicts it too', async () => {
    const earlier = new ImageCache(dir, { maxBytes: 10_000 });
    for (let n = 1; n <= 5; n++) await earlier.put(hash(n), shape, 'cover', pixels(n));
    for (let n = 1; n <= 5; n++) await usedAgo(earlier, n, 100 - n);
    const cache = new ImageCache(dir, { maxBytes: 300 });
    await cache.put(hash(6), shape, 'cover', pixels(6));
    // 600 bytes down to 90% of the cap (270): the four least recently used go.
    expect(await files(dir)).toEqual([`${hash(5)}-10x10x1-cover-v3.u8`, `${hash(6)}-10x10x1-cover-v3.u8`]);
  });

  it('never serves an entry of an older format (decoded before the 50-megapixel limit), and evicts those first', async () => {
    const cache = new ImageCache(dir, { maxBytes: 250 });
    // What the previous format stored for a picture it decoded whole, now refused from its header.
    const old = join(dir, hash(1).slice(0, 2), `${hash(1)}-10x10x1-cover-v1.u8`);
    await mkdir(join(dir, hash(1).slice(0, 2)), { recursive: true });
    await writeFile(old, new Uint8Array(100).fill(9));
    expect(await cache.get(hash(1), shape, 'cover')).toBeUndefined();
    // What v2 stored for a failed decode: libvips' text, which concurrent decodes mixed up.
    const oldFailure = join(dir, hash(4).slice(0, 2), `${hash(4)}-10x10x1-cover-v2.err`);
    await mkdir(join(dir, hash(4).slice(0, 2)), { recursive: true });
    await writeFile(oldFailure, 'not a readable image: vipspng: libpng read error');
    expect(await cache.get(hash(4), shape, 'cover')).toBeUndefined();
    expect(cache.pixelsPath(hash(1), shape, 'cover')).not.toBe(old);
    await cache.put(hash(2), shape, 'cover', pixels(2));
    await usedAgo(cache, 2, 600); // older than the old entry, yet kept: the old entry is never read
    await cache.put(hash(3), shape, 'cover', pixels(3));
    expect(await files(dir)).toEqual([`${hash(2)}-10x10x1-cover-v3.u8`, `${hash(3)}-10x10x1-cover-v3.u8`]);
  });

  it('never reads a partly written entry, nor a short one, and sweeps temp files a dead writer left', async () => {
    const cache = new ImageCache(dir, { maxBytes: 1000 });
    const target = cache.pixelsPath(hash(1), shape, 'cover');
    await mkdir(join(dir, hash(1).slice(0, 2)), { recursive: true });
    // A writer that died mid-write left its temp file; another left a short entry (an older version).
    const stale = `${target}.0123456789ab.tmp`;
    const fresh = `${target}.ba9876543210.tmp`;
    await writeFile(stale, new Uint8Array(40));
    await writeFile(fresh, new Uint8Array(40));
    const longAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(stale, longAgo, longAgo);
    expect(await cache.get(hash(1), shape, 'cover')).toBeUndefined();
    await writeFile(target, new Uint8Array(60));
    expect(await cache.get(hash(1), shape, 'cover')).toBeUndefined();
    await cache.put(hash(2), shape, 'cover', pixels(2)); // its first put scans the folder
    const left = await files(dir);
    expect(left).not.toContain(stale.split('/').pop());
    expect(left).toContain(fresh.split('/').pop()); // maybe still being written by a live process
  });

  it('leaves what is not its own alone: the shard cache beside it is neither counted nor evicted', async () => {
    await mkdir(join(dir, 'packed-shards'));
    await writeFile(join(dir, 'packed-shards', `${hash(9)}.tar`), new Uint8Array(5000));
    const cache = new ImageCache(dir, { maxBytes: 250 });
    await cache.put(hash(1), shape, 'cover', pixels(1));
    await cache.put(hash(2), shape, 'cover', pixels(2));
    expect(await readdir(join(dir, 'packed-shards'))).toEqual([`${hash(9)}.tar`]);
    expect(await cache.get(hash(1), shape, 'cover')).toEqual(pixels(1));
    expect(await cache.get(hash(2), shape, 'cover')).toEqual(pixels(2));
  });

  it('is safe for two processes sharing the folder: entries vanish under readers, no read is ever partial', async () => {
    // Two caches stand for two training processes: each knows only what it wrote itself.
    const a = new ImageCache(dir, { maxBytes: 1000 });
    const b = new ImageCache(dir, { maxBytes: 1000 });
    const work = (cache: ImageCache, offset: number) =>
      Promise.all(
        Array.from({ length: 8 }, async (_, lane) => {
          for (let i = 0; i < 30; i++) {
            const n = ((lane * 30 + i + offset) % 60) + 1;
            const hit = await cache.get(hash(n), shape, 'cover');
            // A hit is the whole entry, written by either process; a miss decodes and puts.
            if (hit) expect(hit).toEqual(pixels(n));
            else await cache.put(hash(n), shape, 'cover', pixels(n));
          }
        }),
      );
    await Promise.all([work(a, 0), work(b, 17)]);
    expect([a.failures, b.failures]).toEqual([0, 0]);
    // Each may have written up to 10% of the cap since its last scan; a scan brings it back under.
    expect(await bytesHeld(dir)).toBeLessThanOrEqual(1000 + 100);
    await a.evict();
    expect(await bytesHeld(dir)).toBeLessThanOrEqual(1000);
    expect((await files(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('never throws: a folder it cannot write or read only counts failures', async () => {
    const file = join(dir, 'not-a-folder');
    await writeFile(file, 'x');
    const cache = new ImageCache(join(file, 'cache'), { maxBytes: 1000 });
    await expect(cache.put(hash(1), shape, 'cover', pixels(1))).resolves.toBeUndefined();
    await expect(cache.get(hash(1), shape, 'cover')).resolves.toBeUndefined();
    expect(cache.failures).toBeGreaterThan(0);
  });

  it('keeps nothing with a cap of 0, and nothing larger than its cap', async () => {
    await new ImageCache(dir, { maxBytes: 0 }).put(hash(1), shape, 'cover', pixels(1));
    await new ImageCache(dir, { maxBytes: 99 }).put(hash(2), shape, 'cover', pixels(2));
    expect(await files(dir)).toEqual([]);
  });
});
