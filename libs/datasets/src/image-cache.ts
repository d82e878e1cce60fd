import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEFAULT_IMAGE_CACHE_BYTES } from '@trainyard/config';
import type { ImageShape, ResizeFit } from './image-decode';

/**
 * Bumped when decoding changes (resize kernel, colour handling, what is refused) so old entries
 * are not reused. 2: pictures over MAX_INPUT_PIXELS are refused; a v1 entry may hold one decoded.
 * 3: only PNG, JPEG and WebP by signature are decoded, and a failure's reason is ours, not
 * libvips' (shared between concurrent decodes): a v2 entry may hold a TIFF or an SVG decoded, or
 * another file's error text.
 */
const CACHE_FORMAT = 3;

/** An entry's file name, of any format: `<sha256>-<h>x<w>x<c>-<fit>-v<format>.<u8|err>`. */
const ENTRY_NAME = /^[0-9a-f]{64}-\d+x\d+x\d+-[a-z]+-v(\d+)\.(?:u8|err)$/;
/** The fan-out folders; anything else under `dir` (packed-shards/, the shard cache) is not ours. */
const FAN_OUT = /^[0-9a-f]{2}$/;
/** A scan past the cap evicts down to this share of it, so the next scan is many puts away. */
const LOW_WATER = 0.9;
/** A temp file this old was left by a process that died while writing it. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** A failure's reason is a sentence; a larger `.err` file is not one of ours. */
const MAX_REASON_BYTES = 64 * 1024;

export type CachedImage = { kind: 'pixels'; pixels: Uint8Array } | { kind: 'unreadable'; reason: string };

export interface ImageCacheOptions {
  /** Bytes of entries kept (WORKER_IMAGE_CACHE_BYTES); the least recently used go past it. 0: none kept. */
  maxBytes?: number;
}

interface ScannedEntry {
  path: string;
  size: number;
  usedMs: number;
  current: boolean;
}

export function contentHash(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Decoded images on local disk, keyed by the sha256 of the file's bytes and the target shape and
 * fit: a renamed or re-uploaded file still hits, an edited one misses, and two runs at different
 * sizes do not collide. Pixels are stored as raw uint8 (4× smaller than floats, and exact: that is
 * what sharp produced). A file that failed to decode is remembered too, with its reason, so a
 * second load does not try again (the same bytes fail the same way).
 *
 * Every training process of a node shares the folder. An entry is written under a temp name and
 * renamed (atomic on one filesystem), so no reader sees half of one. Use is the file's mtime,
 * set on every hit; past `maxBytes` the least recently used entries are deleted (older formats
 * first: nothing reads them). A process scans the folder at its first put and again once it has
 * written what the folder had room for at that scan, or 10% of the cap, whichever is less: alone,
 * it never leaves more than the cap; N processes may together exceed it by up to (N − 1) × 10%
 * until their next scans. Deleting a file another process is reading is safe on POSIX (its open
 * handle keeps the bytes); one deleted before it was opened is a miss. Nothing here throws: a
 * cache that fails (disk full, permissions) only means decoding again.
 */
export class ImageCache {
  /** Failures swallowed (a write, a scan, a read other than a miss), for tests and reports. */
  failures = 0;
  readonly maxBytes: number;
  /** Bytes this process has written, ever. */
  private written = 0;
  /** `written` when its last scan began; null before its first. */
  private writtenAtScan: number | null = null;
  /** Bytes it may write after that before it scans again. */
  private budget = 0;
  private scanning: Promise<void> | null = null;

  constructor(
    readonly dir: string,
    opts: ImageCacheOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_IMAGE_CACHE_BYTES;
  }

  private path(hash: string, shape: ImageShape, fit: ResizeFit, ext: string): string {
    const name = `${hash}-${shape[0]}x${shape[1]}x${shape[2]}-${fit}-v${CACHE_FORMAT}.${ext}`;
    // Two-level fan-out keeps folders small for datasets of 100k+ images.
    return join(this.dir, hash.slice(0, 2), name);
  }

  /** The cached raw pixels' path (whether or not it exists yet). */
  pixelsPath(hash: string, shape: ImageShape, fit: ResizeFit): string {
    return this.path(hash, shape, fit, 'u8');
  }

  async get(hash: string, shape: ImageShape, fit: ResizeFit): Promise<CachedImage | undefined> {
    const bytes = shape[0] * shape[1] * shape[2];
    // A short file (disk full mid-write by an older version, tampering) is a miss, not an image.
    const pixels = await this.read(this.pixelsPath(hash, shape, fit), (size) => size === bytes);
    if (pixels) return { kind: 'pixels', pixels: new Uint8Array(pixels.buffer, pixels.byteOffset, bytes) };
    const reason = await this.read(this.path(hash, shape, fit, 'err'), (size) => size <= MAX_REASON_BYTES);
    return reason === undefined ? undefined : { kind: 'unreadable', reason: reason.toString('utf8') };
  }

  /**
   * An entry's bytes, read through one handle (a rename or an eviction meanwhile cannot mix two
   * files), its use recorded; undefined when it is absent or its size is not one `fits` accepts.
   */
  private async read(path: string, fits: (size: number) => boolean): Promise<Buffer | undefined> {
    const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') this.failures++;
      return undefined;
    });
    if (!handle) return undefined; // never written, or evicted by another process
    try {
      if (!fits((await handle.stat()).size)) return undefined;
      const bytes = await handle.readFile();
      const now = new Date();
      await handle.utimes(now, now).catch(() => undefined); // only the order of eviction suffers
      return bytes;
    } catch {
      this.failures++;
      return undefined;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async put(hash: string, shape: ImageShape, fit: ResizeFit, entry: CachedImage): Promise<void> {
    const target = entry.kind === 'pixels' ? this.pixelsPath(hash, shape, fit) : this.path(hash, shape, fit, 'err');
    const bytes = entry.kind === 'pixels' ? entry.pixels : Buffer.from(entry.reason, 'utf8');
    if (this.maxBytes === 0 || bytes.byteLength > this.maxBytes) return;
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(temp, bytes);
      await rename(temp, target);
    } catch {
      this.failures++;
      await rm(temp, { force: true }).catch(() => undefined);
      return;
    }
    this.written += bytes.byteLength;
    // Twice at most: a scan already running when this entry was written may not have counted it.
    if (this.scanDue()) await this.evict();
    if (this.scanDue()) await this.evict();
  }

  private scanDue(): boolean {
    return this.writtenAtScan === null || this.written - this.writtenAtScan > this.budget;
  }

  /**
   * Scans the folder and, past the cap, deletes the least recently used entries until what is
   * left fits in 90% of it (entries of older formats first). One scan at a time per process; a
   * put meanwhile waits for it. Files another process deletes or writes meanwhile are skipped or
   * left for a later scan.
   */
  evict(): Promise<void> {
    this.scanning ??= this.scanAndEvict().finally(() => (this.scanning = null));
    return this.scanning;
  }

  private async scanAndEvict(): Promise<void> {
    const writtenBefore = this.written;
    const entries = await this.scan();
    let total = entries.reduce((sum, entry) => sum + entry.size, 0);
    if (total > this.maxBytes) {
      entries.sort((a, b) => Number(a.current) - Number(b.current) || a.usedMs - b.usedMs);
      const target = Math.floor(this.maxBytes * LOW_WATER);
      for (const entry of entries) {
        if (total <= target) break;
        await unlink(entry.path).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') this.failures++; // ENOENT: another process evicted it first
        });
        total -= entry.size;
      }
    }
    // What was written during the scan counts against the next budget (it may also be in `total`).
    this.writtenAtScan = writtenBefore;
    const share = Math.ceil(this.maxBytes * (1 - LOW_WATER));
    this.budget = total < this.maxBytes ? Math.min(this.maxBytes - total, share) : share;
  }

  /** Every entry in the fan-out folders, with its size and last use; stale temp files are deleted. */
  private async scan(): Promise<ScannedEntry[]> {
    const folders = await readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') this.failures++;
      return [] as string[];
    });
    const entries: ScannedEntry[] = [];
    const now = Date.now();
    for (const folder of folders.filter((name) => FAN_OUT.test(name))) {
      const names = await readdir(join(this.dir, folder)).catch(() => [] as string[]);
      const found = await Promise.all(
        names.map(async (name): Promise<ScannedEntry | undefined> => {
          const path = join(this.dir, folder, name);
          const entry = ENTRY_NAME.exec(name);
          if (!entry && !name.endsWith('.tmp')) return undefined;
          const info = await stat(path).catch(() => undefined); // gone meanwhile
          if (!info?.isFile()) return undefined;
          if (!entry) {
            if (now - info.mtimeMs > STALE_TEMP_MS) await unlink(path).catch(() => undefined);
            return undefined;
          }
          return { path, size: info.size, usedMs: info.mtimeMs, current: Number(entry[1]) === CACHE_FORMAT };
        }),
      );
      for (const entry of found) if (entry) entries.push(entry);
    }
    return entries;
  }
}
