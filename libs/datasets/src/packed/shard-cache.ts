import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ShardCacheOptions {
  dir: string;
  /** Total bytes of cached shards kept; the least recently used go first past it. */
  maxBytes: number;
}

/**
 * Shards on local disk, shared by every training process of a node. A shard is named by its
 * sha256, so an entry is either the right bytes or absent: it is written under a temp name and
 * renamed (atomic on one filesystem), and the reader verifies the hash anyway. Use is recorded as
 * the file's mtime (touched on each hit), and a put evicts the oldest past `maxBytes`. Deleting a
 * file another process is reading is safe on POSIX (its open handle keeps the bytes). Nothing
 * here throws: a cache that fails (disk full, permissions) only means reading from the store.
 */
export class ShardCache {
  /** Failures swallowed, for the data report and tests. */
  failures = 0;

  constructor(private readonly opts: ShardCacheOptions) {}

  private path(sha256: string): string {
    return join(this.opts.dir, `${sha256}.tar`);
  }

  async get(sha256: string): Promise<Buffer | undefined> {
    try {
      const bytes = await readFile(this.path(sha256));
      const now = new Date();
      await utimes(this.path(sha256), now, now).catch(() => undefined); // evicted meanwhile: fine
      return bytes;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.failures++;
      return undefined;
    }
  }

  async put(sha256: string, bytes: Buffer): Promise<void> {
    if (bytes.length > this.opts.maxBytes) return;
    const temp = join(this.opts.dir, `.${sha256}.${randomUUID()}.tmp`);
    try {
      await mkdir(this.opts.dir, { recursive: true });
      await writeFile(temp, bytes);
      await rename(temp, this.path(sha256));
      await this.evict();
    } catch {
      this.failures++;
      await unlink(temp).catch(() => undefined);
    }
  }

  /** Deletes the least recently used shards until the rest fit in maxBytes. */
  async evict(): Promise<void> {
    const names = (await readdir(this.opts.dir)).filter((n) => /^[0-9a-f]{64}\.tar$/.test(n));
    const files = (
      await Promise.all(
        names.map(async (name) => {
          const s = await stat(join(this.opts.dir, name)).catch(() => undefined);
          return s ? { name, size: s.size, used: s.mtimeMs } : undefined;
        }),
      )
    ).filter((f) => f !== undefined);
    let total = files.reduce((sum, f) => sum + f.size, 0);
    files.sort((a, b) => a.used - b.used);
    for (const f of files) {
      if (total <= this.opts.maxBytes) break;
      await unlink(join(this.opts.dir, f.name)).catch(() => undefined); // another process got there first
      total -= f.size;
    }
  }
}
