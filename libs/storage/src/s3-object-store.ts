import { S3_CONNECT_TIMEOUT_DEFAULT_MS, S3_REQUEST_TIMEOUT_DEFAULT_MS } from '@trainyard/config';
import { Client } from 'minio';
import { createHash } from 'node:crypto';
import type * as http from 'node:http';
import type { Readable } from 'node:stream';
import { transportWithDeadlines } from './s3-deadlines';
import { FolderWalkLimitError, WalkBudget, type WalkLimits } from './folder-walk-limit.error';
import type { ByteRange, ObjectReadStream, ObjectStore, StoredObject } from './object-store';
import { assertValidKey, assertValidPrefix } from './object-key';
import { ObjectNotFoundError } from './object-not-found.error';
import { chunksOfSize, partsOf, PUT_STREAM_PART_BYTES, viewsOf } from './sized-body';
import { StorageRequestError } from './storage-request.error';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, withStorageRetry } from './transient-error';

export interface S3ObjectStoreOptions {
  /** http(s)://host:port of MinIO or any S3-compatible server. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region?: string;
  retry?: RetryPolicy;
  /** The most a connection may take to open (S3_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number;
  /** The most a request may go without a byte moving either way (S3_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number;
}

/** minio's client wants the endpoint in pieces; the config carries one URL. */
export function parseS3Endpoint(endpoint: string): { endPoint: string; port: number; useSSL: boolean } {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`S3 endpoint ${JSON.stringify(endpoint)} is not a URL (expected e.g. http://127.0.0.1:9000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`S3 endpoint ${endpoint} must use http or https, not ${url.protocol}`);
  }
  if (url.pathname !== '/' && url.pathname !== '') {
    throw new Error(`S3 endpoint ${endpoint} must not have a path: the bucket is set by S3_BUCKET`);
  }
  const useSSL = url.protocol === 'https:';
  return {
    // URL keeps the brackets of an IPv6 literal; minio wants the bare address.
    endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
  };
}

/**
 * The whole body. With its length known, copied as it comes into one buffer of that length (its own
 * ArrayBuffer, not a pooled slice, so tfjs can take it as weights without a copy): collecting the
 * chunks and concatenating them held an object twice over at the end (a 200 MiB weights file took
 * 414 MiB of resident memory). A body that runs past or ends short of its length throws.
 */
async function readAll(stream: Readable, size: number | undefined, key: string): Promise<Buffer> {
  if (size === undefined) {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    return Buffer.concat(chunks);
  }
  const whole = Buffer.allocUnsafeSlow(size);
  let filled = 0;
  for await (const chunk of chunksOfSize(stream, size, key)) filled += chunk.copy(whole, filled);
  return whole;
}

/** The Content-Length minio's answer carries (the object's size), when it has one. */
function contentLength(body: Readable): number | undefined {
  const length = (body as Partial<http.IncomingMessage>).headers?.['content-length'];
  return length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
}

/** An upload id as a query value: minio puts it into the URL of a part and of an abort as it is given. */
function queryValue(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The largest Buffer `put` sends in one PUT (minio's own threshold for a multipart upload, set to it). */
const PUT_ONE_REQUEST_MAX_BYTES = 64 * 2 ** 20;

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  private readonly client: Client;
  private readonly bucket: string;
  private readonly region: string;
  private readonly retry: RetryPolicy;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.region = options.region ?? 'us-east-1';
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.description = `s3://${options.bucket} (${options.endpoint.replace(/\/$/, '')})`;
    const endpoint = parseS3Endpoint(options.endpoint);
    this.client = new Client({
      ...endpoint,
      transport: transportWithDeadlines(endpoint.useSSL, {
        connectTimeoutMs: options.connectTimeoutMs ?? S3_CONNECT_TIMEOUT_DEFAULT_MS,
        requestTimeoutMs: options.requestTimeoutMs ?? S3_REQUEST_TIMEOUT_DEFAULT_MS,
      }),
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: this.region,
      partSize: PUT_ONE_REQUEST_MAX_BYTES,
      // MinIO and emulators serve buckets as paths; virtual-host style needs wildcard DNS.
      pathStyle: true,
      // Retries are ours (withStorageRetry): minio's loop retries once and logs with console.warn.
      retryOptions: { disableRetry: true },
    });
  }

  /** Creates the bucket if it is missing; retried because MinIO may still be starting. */
  async ensureBucket(): Promise<void> {
    await this.call('create bucket', this.bucket, async () => {
      if (await this.client.bucketExists(this.bucket)) return;
      try {
        await this.client.makeBucket(this.bucket, this.region);
      } catch (error) {
        // Another worker created it between our check and our create.
        if (errorCode(error) === 'BucketAlreadyOwnedByYou') return;
        throw error;
      }
    });
  }

  uri(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async put(key: string, body: Buffer): Promise<void> {
    assertValidKey(key);
    // Past what one PUT carries, our own multipart upload of views into `body`, as putStream's:
    // minio's first lists the key's unfinished uploads to resume one (a call s3rver and some S3
    // servers answer NotImplemented, so a checkpoint of large weights failed), copies every part,
    // and leaves the parts of an upload that fails in the store.
    if (body.length > PUT_ONE_REQUEST_MAX_BYTES) return this.putParts(key, viewsOf(body, PUT_STREAM_PART_BYTES));
    await this.call('put', key, async () => {
      await this.client.putObject(this.bucket, key, body, body.length);
    });
  }

  async putStream(key: string, body: AsyncIterable<Uint8Array>, size: number): Promise<void> {
    assertValidKey(key);
    const parts = partsOf(body, size, PUT_STREAM_PART_BYTES, key);
    if (size <= PUT_STREAM_PART_BYTES) {
      // One part is the whole object: a plain PUT of it, as `put` does.
      let whole: Buffer = Buffer.alloc(0);
      for await (const part of parts) whole = part;
      return this.put(key, whole);
    }
    return this.putParts(key, parts);
  }

  /** A multipart upload of `parts` (each but the last at least 5 MiB), aborted if any step fails. */
  private async putParts(key: string, parts: AsyncIterable<Buffer>): Promise<void> {
    const uploadId = await this.call('put', key, () => this.client.initiateNewMultipartUpload(this.bucket, key, {}));
    try {
      const etags: { part: number; etag: string }[] = [];
      // The body is read between requests, never inside one: a slow or stalled body holds no
      // request to the store open (its deadline would blame the store), and a retry resends the
      // part it holds rather than reading the body again.
      for await (const bytes of parts) {
        const part = etags.length + 1;
        const md5 = createHash('md5').update(bytes).digest('base64');
        const { etag } = await this.call('put', `${key} (part ${part})`, () =>
          this.client.uploadPart(
            {
              bucketName: this.bucket,
              objectName: key,
              uploadID: queryValue(uploadId),
              partNumber: part,
              headers: { 'content-md5': md5 },
            },
            bytes,
          ),
        );
        etags.push({ part, etag });
      }
      await this.call('put', key, () => this.client.completeMultipartUpload(this.bucket, key, uploadId, etags));
    } catch (error) {
      // Best effort: parts of an upload never completed are not objects (no list or get sees
      // them), but the store keeps them until aborted or a lifecycle rule removes them.
      await this.client.abortMultipartUpload(this.bucket, key, queryValue(uploadId)).catch(() => undefined);
      throw error;
    }
  }

  async get(key: string): Promise<Buffer> {
    assertValidKey(key);
    // The whole read sits inside the retry: a connection reset mid-body is as transient as one
    // before the headers.
    return this.call('get', key, async () => {
      const body = await this.client.getObject(this.bucket, key);
      return readAll(body, contentLength(body), key);
    });
  }

  async getStream(key: string, range?: ByteRange): Promise<ObjectReadStream> {
    assertValidKey(key);
    // Only the request up to the response headers is retried: once bytes flow to the caller, a
    // retry would deliver them twice.
    const body = await this.call('get', key, () =>
      range
        ? this.client.getPartialObject(this.bucket, key, range.start, range.end - range.start + 1)
        : this.client.getObject(this.bucket, key),
    );
    // minio answers the HTTP response itself; its Content-Length is the object's size (the range's).
    const size = contentLength(body);
    if (range && size !== range.end - range.start + 1) {
      // A server that ignored the range (or clipped it) would have the caller serve other bytes as these.
      body.destroy();
      throw new StorageRequestError(
        'get',
        `${key} (bytes ${range.start}-${range.end})`,
        this.description,
        new Error(
          `the store answered ${size ?? 'an unknown number of'} bytes for a range of ${range.end - range.start + 1}`,
        ),
      );
    }
    return { body, size };
  }

  async list(prefix: string, limits?: WalkLimits): Promise<StoredObject[]> {
    assertValidPrefix(prefix);
    const items = await this.call('list', prefix, async () => {
      // Each try starts its own count and clock.
      const budget = limits ? new WalkBudget(this.uri(prefix), limits) : undefined;
      const found: StoredObject[] = [];
      for await (const item of this.client.listObjectsV2(this.bucket, prefix, true)) {
        budget?.see();
        if (item.name !== undefined) found.push({ key: item.name, size: item.size, lastModified: item.lastModified });
      }
      return found;
    });
    return items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async subfolders(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const found = await this.call('list', prefix, async () => {
      const folders: string[] = [];
      // Not recursive: S3 answers the common prefixes under `prefix` (delimiter '/') beside its objects.
      for await (const item of this.client.listObjectsV2(this.bucket, prefix, false))
        if (item.prefix !== undefined) folders.push(item.prefix);
      return folders;
    });
    return found.sort();
  }

  async delete(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    keys.forEach(assertValidKey);
    const results = await this.call(
      'delete',
      keys.length === 1 ? keys[0] : `${keys[0]} (+${keys.length - 1} more)`,
      () => this.client.removeObjects(this.bucket, keys),
    );
    // Multi-object delete reports per-key failures in a 200 reply; a missing key is not one.
    const failures = results.filter((r) => r?.Error && r.Error.Code !== 'NoSuchKey');
    if (failures.length > 0) {
      const detail = failures.map((r) => `${r?.Error?.Key}: ${r?.Error?.Code} ${r?.Error?.Message ?? ''}`.trim());
      throw new Error(`Could not delete ${failures.length} object(s) from ${this.description}: ${detail.join('; ')}`);
    }
  }

  async ping(): Promise<void> {
    // No retry: a health check should report the store as it is now.
    const exists = await this.client.bucketExists(this.bucket).catch((error: unknown) => {
      throw new StorageRequestError('ping', '', this.description, error);
    });
    if (!exists) throw new Error(`Bucket ${this.bucket} does not exist at ${this.description}`);
  }

  /** Retries transient failures; maps a missing key; wraps the rest with what we were doing. */
  private async call<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withStorageRetry(fn, this.retry);
    } catch (error) {
      if (error instanceof FolderWalkLimitError) throw error;
      const code = errorCode(error);
      // A bodiless 404 (HEAD-style) arrives as NotFound rather than NoSuchKey.
      if (operation === 'get' && (code === 'NoSuchKey' || code === 'NotFound')) {
        throw new ObjectNotFoundError(key, this.description);
      }
      throw new StorageRequestError(operation, key, this.description, error);
    }
  }
}
