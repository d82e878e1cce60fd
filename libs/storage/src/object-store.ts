import type { Readable } from 'node:stream';
import type { WalkLimits } from './folder-walk-limit.error';

/** One object as `list` reports it. */
export interface StoredObject {
  key: string;
  size: number;
  /** When the object was last written (S3 LastModified, a file's mtime). */
  lastModified: Date;
}

/** Bytes `start` to `end` of an object, both included (as HTTP's `Range: bytes=start-end`). */
export interface ByteRange {
  start: number;
  end: number;
}

/** An object being read: the body as a stream, and its length when the store knows it. */
export interface ObjectReadStream {
  body: Readable;
  /** Bytes the body will deliver; undefined when the store did not say. */
  size: number | undefined;
}

/**
 * The one seam between Trainyard and wherever bytes live (MinIO/S3 in production, a folder in
 * the demo). Keys are `/`-separated relative paths such as `runs/<runId>/checkpoints/3/model.json`.
 */
export interface ObjectStore {
  /** For logs and errors: "s3://bucket (http://127.0.0.1:9000)" or "file:///abs/path". */
  readonly description: string;
  /** s3://bucket/key or file:///root/key — what the database records. */
  uri(key: string): string;
  /** Retried with backoff on transient errors. */
  put(key: string, body: Buffer): Promise<void>;
  /**
   * Writes the `size` bytes `body` yields under `key` without holding them all in memory: the
   * local store writes them to a temp file as they come; the S3 store holds one part
   * (PUT_STREAM_PART_BYTES) at a time, one PUT when that is the whole object, else a multipart
   * upload. The object appears whole or not at all: a body that fails, or yields fewer or more
   * than `size` bytes, rejects and leaves nothing new under `key` (an S3 multipart upload is
   * aborted). Each S3 request is retried like `put` (a part from the bytes it holds); the body is
   * read once, never again.
   */
  putStream(key: string, body: AsyncIterable<Uint8Array>, size: number): Promise<void>;
  /** Throws ObjectNotFoundError naming the key. */
  get(key: string): Promise<Buffer>;
  /**
   * Opens the object for reading without holding it in memory. Throws ObjectNotFoundError before
   * any byte is delivered; opening is retried like `get`, but a failure mid-body is not (it
   * surfaces as an error on `body`, and bytes already delivered cannot be taken back). The caller
   * must consume or destroy `body`. With `range` (inside the object: the caller checks it against
   * the size a listing gave), only those bytes, and `size` is their count.
   */
  getStream(key: string, range?: ByteRange): Promise<ObjectReadStream>;
  /**
   * Every object whose key starts with `prefix` (recursively), sorted by key. With `limits`, throws
   * FolderWalkLimitError once more entries were seen, or more time spent, than they allow.
   */
  list(prefix: string, limits?: WalkLimits): Promise<StoredObject[]>;
  /** Missing keys are not an error: deleting is idempotent so a retried job can repeat it. */
  delete(keys: string[]): Promise<void>;
  /**
   * The folders right under the folder `prefix` (which ends in `/`), each as a prefix ending in
   * `/`, sorted: one listing of names, not of every object below them.
   */
  subfolders(prefix: string): Promise<string[]>;
  /** Throws if the store cannot be reached or written (health checks). */
  ping(): Promise<void>;
}

/** Inverse of `store.uri(key)`; throws if the uri belongs to another store. */
export function keyFromUri(store: ObjectStore, uri: string): string {
  const base = store.uri('');
  if (!uri.startsWith(base)) {
    throw new Error(`URI ${uri} does not belong to object store ${store.description} (expected prefix ${base})`);
  }
  return uri.slice(base.length);
}
