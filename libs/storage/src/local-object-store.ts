import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ByteRange, ObjectReadStream, ObjectStore, StoredObject } from './object-store';
import { WalkBudget, type WalkLimits } from './folder-walk-limit.error';
import { assertValidKey, assertValidPrefix } from './object-key';
import { InvalidObjectKeyError } from './invalid-object-key.error';
import { ObjectNotFoundError } from './object-not-found.error';
import { chunksOfSize } from './sized-body';
import { diskFullCode, StoreFullError } from './store-full.error';

/** Suffix of in-flight writes; such files are never listed and are not valid key names. */
const PARTIAL_SUFFIX = '.partial';

function errno(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as NodeJS.ErrnoException).code : undefined;
}

/**
 * Objects as files under one folder: the embedded default (`.trainyard/objects`) so the demo needs
 * no MinIO. A put writes a temp file in the same folder, fsyncs it and renames it over the target:
 * rename is atomic on one filesystem, so a crash leaves either the old object or the new one,
 * never half a file.
 */
export class LocalObjectStore implements ObjectStore {
  readonly root: string;
  readonly description: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.description = pathToFileURL(this.root).href;
  }

  uri(key: string): string {
    return `${this.description}/${key}`;
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.writeWhole(key, (handle) => handle.writeFile(body));
  }

  /**
   * As `put`, the bytes written to the temp file as they come (one chunk in memory at a time) and
   * renamed over the target only once all `size` of them are there and synced.
   */
  async putStream(key: string, body: AsyncIterable<Uint8Array>, size: number): Promise<void> {
    await this.writeWhole(key, async (handle) => {
      for await (const chunk of chunksOfSize(body, size, key))
        for (let at = 0; at < chunk.length;) at += (await handle.write(chunk, at)).bytesWritten;
    });
  }

  /**
   * `write` into a temp file beside the key's, synced, then renamed over it: the whole object or
   * none. A full disk is a StoreFullError naming the key and the file.
   */
  private async writeWhole(key: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
    const target = this.pathOf(key);
    try {
      await this.writeThenRename(target, write);
    } catch (error) {
      const full = diskFullCode(error);
      throw full ? new StoreFullError(key, target, full, error) : error;
    }
  }

  private async writeThenRename(target: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
    const temp = `${target}.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`;
    const handle = await this.createInFolder(temp);
    try {
      await write(handle);
      await handle.sync();
    } catch (error) {
      await handle.close();
      await rm(temp, { force: true });
      throw error;
    }
    await handle.close();
    try {
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /**
   * Creates `path` (exclusively), its folders first. A delete removes the folders it empties, so
   * one may go between the mkdir and the open: made again, a few times.
   */
  private async createInFolder(path: string): Promise<FileHandle> {
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(dirname(path), { recursive: true });
        return await open(path, 'wx');
      } catch (error) {
        if (errno(error) !== 'ENOENT' || attempt === 5) throw error;
      }
    }
  }

  async get(key: string): Promise<Buffer> {
    const { handle } = await this.openFile(key);
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  async getStream(key: string, range?: ByteRange): Promise<ObjectReadStream> {
    const { handle, size } = await this.openFile(key);
    // The size of the open file: a put renames a new file over the path, never rewrites this one,
    // so the stream delivers exactly this many bytes.
    if (!range) return { body: handle.createReadStream({ autoClose: true }), size };
    const end = Math.min(range.end, size - 1);
    return {
      body: handle.createReadStream({ autoClose: true, start: range.start, end }),
      size: Math.max(0, end - range.start + 1),
    };
  }

  /**
   * The key's file, open, when it is a regular file. Opened without blocking: a FIFO (or a device)
   * swapped in for a file of a registered folder would otherwise hold one of libuv's four threads
   * in open() until something writes to it, and four of them every file read of the process (the
   * store, downloads, logs, samples of every project). Anything but a regular file is no object.
   */
  private async openFile(key: string): Promise<{ handle: FileHandle; size: number }> {
    let handle: FileHandle;
    try {
      handle = await open(this.pathOf(key), constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      const code = errno(error);
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR')
        throw new ObjectNotFoundError(key, this.description);
      throw error;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new ObjectNotFoundError(key, this.description);
      return { handle, size: info.size };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async list(prefix: string, limits?: WalkLimits): Promise<StoredObject[]> {
    assertValidPrefix(prefix);
    // Walk only the deepest folder the prefix names, not the whole store.
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const found: StoredObject[] = [];
    await this.walk(join(this.root, folder), found, limits ? new WalkBudget(this.uri(prefix), limits) : undefined);
    return found.filter((o) => o.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async subfolders(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const entries = await readdir(join(this.root, prefix), { withFileTypes: true }).catch((error: unknown) => {
      if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return [];
      throw error;
    });
    // Symlinks are no folders to a Dirent, as in the walk.
    return entries
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${prefix}${entry.name}/`)
      .sort();
  }

  /**
   * Deletes the keys' files (one already gone is no error), then the folders that left empty, up
   * to the root: a folder holds objects or is not there, as in S3, so `subfolders` and an
   * operator's `ls` find no husks of deleted runs and uploads. A put racing into a folder removed
   * here makes it again (`createInFolder`); a folder a put has a temp file in is not empty.
   */
  async delete(keys: string[]): Promise<void> {
    const paths = keys.map((k) => this.pathOf(k));
    for (const path of paths) {
      try {
        await unlink(path);
      } catch (error) {
        if (errno(error) !== 'ENOENT') throw error;
      }
    }
    // Deepest first, so a folder's emptied subfolders go before it is tried.
    const folders = [...new Set(paths.map((path) => dirname(path)))].sort((a, b) => b.length - a.length);
    for (const folder of folders) await this.removeEmptyFolders(folder);
  }

  /** Removes `folder` and each folder above it, below the root, while each is empty; never throws. */
  private async removeEmptyFolders(folder: string): Promise<void> {
    for (let at = folder; at !== this.root && at.startsWith(`${this.root}${sep}`); at = dirname(at)) {
      try {
        await rmdir(at);
      } catch {
        // Not empty (the usual answer), already gone, or not ours to remove (a mount point, no
        // permission): the objects are deleted either way, and the folders stop here.
        return;
      }
    }
  }

  async ping(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await access(this.root, constants.R_OK | constants.W_OK);
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    if (key.endsWith(PARTIAL_SUFFIX))
      throw new InvalidObjectKeyError(key, `names ending in ${PARTIAL_SUFFIX} are reserved`);
    const path = resolve(this.root, key);
    // assertValidKey already refuses `..`; this guards against anything it did not foresee.
    const rel = relative(this.root, path);
    if (rel === '' || rel.startsWith('..') || resolve(this.root, rel) !== path) {
      throw new InvalidObjectKeyError(key, `it resolves outside ${this.root}`);
    }
    return path;
  }

  private async walk(dir: string, out: StoredObject[], budget: WalkBudget | undefined): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return;
      throw error;
    }
    for (const entry of entries) {
      budget?.see();
      const path = join(dir, entry.name);
      // Symlinks are neither folders nor files to a Dirent: a link never takes the walk elsewhere.
      if (entry.isDirectory()) {
        await this.walk(path, out, budget);
      } else if (entry.isFile() && !entry.name.endsWith(PARTIAL_SUFFIX)) {
        const info = await stat(path).catch(() => null);
        if (!info) continue; // deleted while we walked
        out.push({ key: relative(this.root, path).split(sep).join('/'), size: info.size, lastModified: info.mtime });
      }
    }
  }
}
