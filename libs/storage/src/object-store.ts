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
  /** Throws ObjectNotFoundError naming the key. */
  get(key: string): Promise<Buffer>;
  /** Every object whose key starts with `prefix` (recursively), sorted by key. */
  list(prefix: string): Promise<{ key: string; size: number }[]>;
  /** Missing keys are not an error: deleting is idempotent so a retried job can repeat it. */
  delete(keys: string[]): Promise<void>;
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
