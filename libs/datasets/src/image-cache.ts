import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageShape, ResizeFit } from './image-decode';

/** Bumped when decoding changes (resize kernel, colour handling) so old entries are not reused. */
const CACHE_FORMAT = 1;

export type CachedImage = { kind: 'pixels'; pixels: Uint8Array } | { kind: 'unreadable'; reason: string };

export function contentHash(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Decoded images on local disk, keyed by the sha256 of the file's bytes and the target shape and
 * fit: a renamed or re-uploaded file still hits, an edited one misses, and two runs at different
 * sizes do not collide. Pixels are stored as raw uint8 (4× smaller than floats, and exact: that is
 * what sharp produced). A file that failed to decode is remembered too, with its reason, so a
 * second load does not try again (the same bytes fail the same way).
 */
export class ImageCache {
  constructor(readonly dir: string) {}

  private path(hash: string, shape: ImageShape, fit: ResizeFit, ext: string): string {
    const name = `${hash}-${shape[0]}x${shape[1]}x${shape[2]}-${fit}-v${CACHE_FORMAT}.${ext}`;
    // Two-level fan-out keeps folders small for datasets of 100k+ images.
    return join(this.dir, hash.slice(0, 2), name);
  }

  /** The cached raw pixels' path (whether or not it exists yet): readers in other threads use it. */
  pixelsPath(hash: string, shape: ImageShape, fit: ResizeFit): string {
    return this.path(hash, shape, fit, 'u8');
  }

  async get(hash: string, shape: ImageShape, fit: ResizeFit): Promise<CachedImage | undefined> {
    const bytes = shape[0] * shape[1] * shape[2];
    const pixels = await readFile(this.pixelsPath(hash, shape, fit)).catch(() => undefined);
    // A short file (disk full mid-write by an older version, tampering) is a miss, not an image.
    if (pixels && pixels.length === bytes)
      return { kind: 'pixels', pixels: new Uint8Array(pixels.buffer, pixels.byteOffset, bytes) };
    const reason = await readFile(this.path(hash, shape, fit, 'err'), 'utf8').catch(() => undefined);
    return reason === undefined ? undefined : { kind: 'unreadable', reason };
  }

  async put(hash: string, shape: ImageShape, fit: ResizeFit, entry: CachedImage): Promise<void> {
    const target = entry.kind === 'pixels' ? this.pixelsPath(hash, shape, fit) : this.path(hash, shape, fit, 'err');
    await mkdir(join(this.dir, hash.slice(0, 2)), { recursive: true });
    // Write then rename: concurrent loaders (two workers on one node) never read half an entry.
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, entry.kind === 'pixels' ? entry.pixels : entry.reason);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }
}
