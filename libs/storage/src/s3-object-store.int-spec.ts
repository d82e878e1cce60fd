import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'minio';
import { CheckpointStore } from './checkpoint-store';
import { CorruptCheckpointError } from './corrupt-checkpoint.error';
import { createObjectStore } from './create-object-store';
import { FolderWalkLimitError } from './folder-walk-limit.error';
import { ObjectNotFoundError } from './object-not-found.error';
import { keyFromUri, type ObjectStore } from './object-store';
import { parseS3Endpoint, S3ObjectStore } from './s3-object-store';
import { StorageRequestError } from './storage-request.error';
import { startS3TestServer, type S3TestServer } from './testing';

// Against s3rver started here over real HTTP, or against a real MinIO when S3_ENDPOINT is set.
const external = process.env.S3_ENDPOINT;
const fastRetry = { attempts: 5, initialDelayMs: 10, maxDelayMs: 50 };

interface Target {
  endpoint: string;
  accessKey: string;
  secretKey: string;
}

/** Sits in front of the S3 server and fails selected requests, to watch the client retry. */
class FaultyProxy {
  /** Replies for the next object PUTs, in order: a status to answer with, or 'reset' to drop the socket. */
  faults: (number | 'reset')[] = [];
  objectPuts = 0;
  /** When set, the next object GET forwards its headers and this many body bytes, then drops the socket. */
  cutNextGetAfter?: number;
  private server!: Server;

  constructor(private readonly upstream: URL) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    // Object PUTs have a key after the bucket: /bucket/key…; bucket creation is PUT /bucket.
    if (req.method === 'PUT' && /^\/[^/?]+\/[^?]+/.test(req.url ?? '')) {
      this.objectPuts++;
      const fault = this.faults.shift();
      if (fault === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault !== undefined) {
        req.resume();
        req.on('end', () => res.writeHead(fault).end());
        return;
      }
    }
    let cutAfter: number | undefined;
    if (req.method === 'GET' && /^\/[^/?]+\/[^?]+/.test(req.url ?? '') && this.cutNextGetAfter !== undefined) {
      cutAfter = this.cutNextGetAfter;
      this.cutNextGetAfter = undefined;
    }
    // Headers go through untouched: the SigV4 signature covers Host, which is the proxy's.
    const upstream = request(
      {
        host: this.upstream.hostname,
        port: this.upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (cutAfter === undefined) {
          up.pipe(res);
          return;
        }
        const limit = cutAfter;
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          if (sent >= limit) return;
          const part = chunk.subarray(0, limit - sent);
          sent += part.length;
          res.write(part);
          if (sent >= limit) {
            up.destroy();
            setTimeout(() => req.socket.destroy(), 20);
          }
        });
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}

describe(`S3ObjectStore over HTTP (${external ? `S3_ENDPOINT=${external}` : 's3rver'})`, () => {
  let server: S3TestServer | undefined;
  let target: Target;
  let admin: Client;
  const buckets: string[] = [];
  let store: ObjectStore;

  function newBucket(): string {
    const name = `trainyard-it-${randomUUID().slice(0, 8)}`;
    buckets.push(name);
    return name;
  }

  beforeAll(async () => {
    if (external) {
      target = {
        endpoint: external,
        accessKey: process.env.S3_ACCESS_KEY ?? 'minioadmin',
        secretKey: process.env.S3_SECRET_KEY ?? 'minioadmin',
      };
    } else {
      server = await startS3TestServer();
      target = server;
    }
    admin = new Client({ ...parseS3Endpoint(target.endpoint), ...target, pathStyle: true });
    store = await createObjectStore({ driver: 's3', ...target, bucket: newBucket(), region: 'us-east-1' });
  });

  afterAll(async () => {
    // A real MinIO outlives the suite: leave it as we found it.
    if (external) {
      for (const bucket of buckets) {
        if (!(await admin.bucketExists(bucket))) continue;
        const keys: string[] = [];
        for await (const item of admin.listObjectsV2(bucket, '', true)) if (item.name) keys.push(item.name);
        if (keys.length) await admin.removeObjects(bucket, keys);
        await admin.removeBucket(bucket);
      }
    }
    await server?.stop();
  });

  it('creates the bucket when it is missing, and tolerates it existing', async () => {
    const bucket = newBucket();
    expect(await admin.bucketExists(bucket)).toBe(false);
    const config = { driver: 's3' as const, ...target, bucket, region: 'us-east-1' };
    const created = await createObjectStore(config);
    expect(await admin.bucketExists(bucket)).toBe(true);
    await expect(created.ping()).resolves.toBeUndefined();
    await expect(createObjectStore(config)).resolves.toBeDefined();
    expect(created.description).toBe(`s3://${bucket} (${target.endpoint})`);
  });

  it('puts, gets, lists and deletes objects', async () => {
    const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    await store.put('runs/r1/a.bin', body);
    await store.put('runs/r1/sub/b.json', Buffer.from('{"b":1}'));
    await store.put('runs/r2/c', Buffer.from('c'));
    expect((await store.get('runs/r1/a.bin')).equals(body)).toBe(true);
    const listed = await store.list('runs/r1/');
    expect(listed.map(({ key, size }) => ({ key, size }))).toEqual([
      { key: 'runs/r1/a.bin', size: 70_000 },
      { key: 'runs/r1/sub/b.json', size: 7 },
    ]);
    for (const { lastModified } of listed)
      expect(Math.abs(Date.now() - lastModified.getTime())).toBeLessThan(5 * 60_000);
    await store.delete(['runs/r1/a.bin', 'runs/r1/never-existed']);
    expect((await store.list('runs/')).map((o) => o.key)).toEqual(['runs/r1/sub/b.json', 'runs/r2/c']);
    expect(keyFromUri(store, store.uri('runs/r2/c'))).toBe('runs/r2/c');
  });

  it('lists the folders right under a folder, not the objects below them', async () => {
    for (const key of ['up/b/1.png', 'up/b/deep/2.png', 'up/a/1.png', 'up/file.txt', 'other/c/1.png'])
      await store.put(key, Buffer.from(key));
    expect(await store.subfolders('up/')).toEqual(['up/a/', 'up/b/']);
    expect(await store.subfolders('up/b/')).toEqual(['up/b/deep/']);
    expect(await store.subfolders('nothing/')).toEqual([]);
  });

  it('stops a listing past its entry bound with FolderWalkLimitError, not a retried or wrapped error', async () => {
    for (let i = 0; i < 5; i++) await store.put(`bounded/x/${i}.png`, Buffer.from('x'));
    const error = await store.list('bounded/', { maxFiles: 3, maxMs: 60_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FolderWalkLimitError);
    expect((error as FolderWalkLimitError).message).toMatch(/FOLDER_WALK_MAX_FILES=3/);
    expect(await store.list('bounded/', { maxFiles: 5, maxMs: 60_000 })).toHaveLength(5);
  });

  it('maps a missing key to ObjectNotFoundError naming key and store', async () => {
    const error = await store.get('runs/nope/model.json').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObjectNotFoundError);
    expect((error as Error).message).toContain('runs/nope/model.json');
    expect((error as Error).message).toContain(store.description);
  });

  it('streams an object larger than 8 MiB with its size, and maps a missing key before any byte', async () => {
    const body = randomBytes(9 * 1024 * 1024 + 123);
    await store.put('runs/big/checkpoints/1/weights.bin', body);
    const opened = await store.getStream('runs/big/checkpoints/1/weights.bin');
    expect(opened.size).toBe(body.length);
    const hash = createHash('sha256');
    let chunks = 0;
    for await (const chunk of opened.body) {
      hash.update(chunk as Buffer);
      chunks++;
    }
    expect(chunks).toBeGreaterThan(1);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));

    // A range (a download resumed): only its bytes, and their count as the size.
    for (const range of [
      { start: 5 * 1024 * 1024, end: body.length - 1 },
      { start: 0, end: 9 }, // not 0-0: s3rver reads an end of 0 as none (the whole object)
      { start: 100, end: 199 },
    ]) {
      const part = await store.getStream('runs/big/checkpoints/1/weights.bin', range);
      expect(part.size).toBe(range.end - range.start + 1);
      const bytes: Buffer[] = [];
      for await (const chunk of part.body) bytes.push(chunk as Buffer);
      expect(Buffer.concat(bytes).equals(body.subarray(range.start, range.end + 1))).toBe(true);
    }

    const error = await store.getStream('runs/big/checkpoints/1/nope.bin').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObjectNotFoundError);
    expect((error as Error).message).toContain('runs/big/checkpoints/1/nope.bin');
    await expect(store.getStream('runs/../x')).rejects.toThrow(/".."/);
  });

  it('writes and reads a checkpoint, and detects corruption', async () => {
    const checkpoints = new CheckpointStore(store);
    const files = { 'model/model.json': Buffer.from('{}'), 'model/weights.bin': Buffer.alloc(4096, 3) };
    const written = await checkpoints.write('run-s3', 1, files, { epoch: 2 });
    expect(written.uri).toMatch(/^s3:\/\/trainyard-it-[0-9a-f]{8}\/runs\/run-s3\/checkpoints\/1\/$/);
    const read = await checkpoints.read(written.uri);
    expect(read.meta).toEqual({ epoch: 2 });
    expect(read.files['model/weights.bin'].equals(files['model/weights.bin'])).toBe(true);
    expect(await checkpoints.list('run-s3')).toEqual([1]);

    await store.put('runs/run-s3/checkpoints/1/model/weights.bin', Buffer.alloc(4096, 4));
    const error = await checkpoints.read(written.uri).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptCheckpointError);
    expect((error as CorruptCheckpointError).file).toBe('model/weights.bin');
    await checkpoints.delete('run-s3', 1);
    expect(await store.list('runs/run-s3/')).toEqual([]);
  });

  describe('through a faulty proxy', () => {
    let proxy: FaultyProxy;
    let flaky: S3ObjectStore;
    let bucket: string;

    beforeAll(async () => {
      bucket = (store.description.match(/^s3:\/\/([^ ]+)/) ?? [])[1];
      proxy = new FaultyProxy(new URL(target.endpoint));
      const endpoint = await proxy.start();
      flaky = new S3ObjectStore({ ...target, endpoint, bucket, retry: fastRetry });
    });
    afterAll(() => proxy.stop());
    beforeEach(() => {
      proxy.faults = [];
      proxy.objectPuts = 0;
      proxy.cutNextGetAfter = undefined;
    });

    it('retries a put that gets 503 twice, then succeeds', async () => {
      proxy.faults = [503, 503];
      await flaky.put('retry/after-503', Buffer.from('made it'));
      expect(proxy.objectPuts).toBe(3);
      expect((await store.get('retry/after-503')).toString()).toBe('made it');
    });

    it('retries a put whose connection is reset', async () => {
      proxy.faults = ['reset', 500];
      await flaky.put('retry/after-reset', Buffer.from('again'));
      expect(proxy.objectPuts).toBe(3);
      expect((await store.get('retry/after-reset')).toString()).toBe('again');
    });

    it('does not retry a 4xx', async () => {
      proxy.faults = [403];
      await expect(flaky.put('retry/forbidden', Buffer.from('x'))).rejects.toMatchObject({
        name: 'StorageRequestError',
        code: 'AccessDenied',
      });
      expect(proxy.objectPuts).toBe(1);
    });

    it('opens a stream whose connection drops mid-body: the body errors, nothing is retried', async () => {
      await store.put('cut/weights.bin', Buffer.alloc(512 * 1024, 9));
      proxy.cutNextGetAfter = 1000;
      const opened = await flaky.getStream('cut/weights.bin');
      expect(opened.size).toBe(512 * 1024);
      let received = 0;
      const error = await (async () => {
        for await (const chunk of opened.body) received += (chunk as Buffer).length;
      })().catch((e: unknown) => e);
      // Node's own error (another realm than Jest's Error): "aborted" / ECONNRESET.
      expect(error).toMatchObject({ message: expect.stringMatching(/aborted|socket hang up|ECONNRESET/) });
      expect(received).toBe(1000);
      // A whole-object get repeats the read instead.
      proxy.cutNextGetAfter = 1000;
      expect((await flaky.get('cut/weights.bin')).equals(Buffer.alloc(512 * 1024, 9))).toBe(true);
    });

    it('gives up after the configured attempts', async () => {
      proxy.faults = [503, 503, 503, 503, 503, 503];
      const error = await flaky.put('retry/never', Buffer.from('x')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageRequestError);
      expect((error as Error).message).toMatch(/put "retry\/never" on s3:\/\/.* failed: .*503/);
      expect(proxy.objectPuts).toBe(fastRetry.attempts);
    });
  });
});
