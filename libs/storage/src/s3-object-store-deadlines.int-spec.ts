import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createObjectStore } from './create-object-store';
import { S3ObjectStore } from './s3-object-store';
import { StorageRequestError } from './storage-request.error';
import { DEFAULT_RETRY_POLICY } from './transient-error';

// Servers that accept an S3 request and then stop moving bytes, over real TCP: every S3 request
// must end within its deadline, retried as transient, with its connection destroyed.
const DEADLINE_MS = 300;
const ATTEMPTS = 3;
const retry = { attempts: ATTEMPTS, initialDelayMs: 5, maxDelayMs: 10 };
const credentials = { accessKey: 'key', secretKey: 'secret', bucket: 'deadlines' };

/** What the server does once it has read a whole request (head and Content-Length body). */
type Behaviour =
  | { kind: 'silent' }
  /** Status line and headers of a 200 with a 4 KiB body, 10 bytes of that body, then nothing. */
  | { kind: 'stall-body' }
  /** Reads the request body with a pause after every `bytesPerPause` (`pauses` times), then answers 200. */
  | { kind: 'slow-reader'; bytesPerPause: number; pauses: number; pauseMs: number }
  /** Answers 200 with `bytes`, sent in `chunks` pieces `everyMs` apart. */
  | { kind: 'trickle'; bytes: Buffer; chunks: number; everyMs: number }
  /** Answers 200 with `bytes` at once. */
  | { kind: 'answer'; bytes: Buffer };

class StallingS3 {
  behaviour: Behaviour = { kind: 'silent' };
  connections = 0;
  requests = 0;
  readonly open = new Set<Socket>();
  private readonly server: Server = createServer((socket) => this.serve(socket));
  private readonly timers = new Set<NodeJS.Timeout>();

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(behaviour: Behaviour): void {
    this.behaviour = behaviour;
    this.connections = 0;
    this.requests = 0;
  }

  /** Resolves once the client has closed every connection it opened. */
  async allClosed(): Promise<void> {
    while (this.open.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const socket of this.open) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private serve(socket: Socket): void {
    this.connections++;
    this.open.add(socket);
    socket.on('close', () => this.open.delete(socket));
    socket.on('error', () => socket.destroy());
    let head = Buffer.alloc(0);
    let bodyLeft = -1;
    let sincePause = 0;
    let pauses = 0;
    socket.on('data', (chunk: Buffer) => {
      if (bodyLeft < 0) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = /\r\ncontent-length: *(\d+)/i.exec(head.subarray(0, end).toString());
        bodyLeft = Number(length?.[1] ?? 0) - (head.length - end - 4);
        this.requests++;
      } else {
        bodyLeft -= chunk.length;
      }
      const behaviour = this.behaviour;
      sincePause += chunk.length;
      if (behaviour.kind === 'slow-reader' && pauses < behaviour.pauses && sincePause >= behaviour.bytesPerPause) {
        sincePause = 0;
        pauses++;
        socket.pause();
        this.later(behaviour.pauseMs, () => socket.resume());
      }
      if (bodyLeft === 0) {
        bodyLeft = -1;
        head = Buffer.alloc(0);
        this.answer(socket, behaviour);
      }
    });
  }

  private answer(socket: Socket, behaviour: Behaviour): void {
    const headers = (length: number) =>
      `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`;
    switch (behaviour.kind) {
      case 'silent':
        return;
      case 'stall-body':
        socket.write(headers(4096) + '<?xml vers');
        return;
      case 'slow-reader':
        socket.write(headers(0));
        return;
      case 'answer':
        socket.write(headers(behaviour.bytes.length));
        socket.write(behaviour.bytes);
        return;
      case 'trickle': {
        const { bytes, chunks, everyMs } = behaviour;
        socket.write(headers(bytes.length));
        const size = Math.ceil(bytes.length / chunks);
        for (let i = 0; i < chunks; i++) {
          this.later(everyMs * (i + 1), () => socket.write(bytes.subarray(i * size, (i + 1) * size)));
        }
      }
    }
  }
}

/** Runs `fn`, returning what it threw and how long it took. */
async function failure(fn: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await fn().then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - started };
}

describe('S3ObjectStore deadlines', () => {
  const s3 = new StallingS3();
  let store: S3ObjectStore;

  beforeAll(async () => {
    const endpoint = await s3.start();
    store = new S3ObjectStore({
      ...credentials,
      endpoint,
      retry,
      connectTimeoutMs: DEADLINE_MS,
      requestTimeoutMs: DEADLINE_MS,
    });
  });
  afterAll(() => s3.stop());

  const operations: [string, string, (store: S3ObjectStore) => Promise<unknown>][] = [
    ['put', 'runs/r1/checkpoints/1/weights.bin', (s) => s.put('runs/r1/checkpoints/1/weights.bin', Buffer.alloc(1000))],
    ['get', 'runs/r1/checkpoints/1/model.json', (s) => s.get('runs/r1/checkpoints/1/model.json')],
    ['list', 'runs/r1/', (s) => s.list('runs/r1/')],
    ['delete', 'runs/r1/a', (s) => s.delete(['runs/r1/a'])],
  ];

  describe.each([
    ['accepts the connection and never answers', 'silent', 'did not answer'],
    ['sends the headers, then stalls the body', 'stall-body', 'stopped mid-body'],
  ] as const)('a server that %s', (_, kind, says) => {
    it.each(operations)('%s fails within its deadlines, retried, its connections closed', async (op, key, call) => {
      s3.reset({ kind });
      const { error, ms } = await failure(() => call(store));
      expect(error).toBeInstanceOf(StorageRequestError);
      expect(error).toMatchObject({ operation: op, key, code: 'ETIMEDOUT' });
      const message = (error as Error).message;
      expect(message).toContain(`${op} ${JSON.stringify(key)} on s3://deadlines (http://127.0.0.1:`);
      expect(message).toContain(`${says}: no bytes`);
      expect(message).toMatch(new RegExp(`for ${DEADLINE_MS} ms \\(S3_REQUEST_TIMEOUT_MS\\)`));
      // Each try got a connection of its own (the stalled one is not reused), and none is left open.
      expect(s3.connections).toBe(ATTEMPTS);
      expect(s3.requests).toBe(ATTEMPTS);
      await s3.allClosed();
      expect(ms).toBeGreaterThanOrEqual(ATTEMPTS * DEADLINE_MS - 50);
      expect(ms).toBeLessThan(ATTEMPTS * DEADLINE_MS + 3000);
    });
  });

  it('gives createObjectStore the configured deadlines: a start against a stalled S3 fails, it does not hang', async () => {
    s3.reset({ kind: 'silent' });
    const endpoint = store.description.replace(/^.*\((.*)\)$/, '$1');
    const config = { driver: 's3' as const, ...credentials, endpoint, region: 'us-east-1' };
    const { error } = await failure(() => createObjectStore({ ...config, requestTimeoutMs: DEADLINE_MS }));
    expect(error).toBeInstanceOf(StorageRequestError);
    expect((error as Error).message).toMatch(/^create bucket "deadlines" on .* no bytes moved for 300 ms/);
    expect(s3.connections).toBe(DEFAULT_RETRY_POLICY.attempts);
    await s3.allClosed();
  });

  it('fails a stream whose body stalls after it was opened, once, without a retry', async () => {
    s3.reset({ kind: 'stall-body' });
    const opened = await store.getStream('runs/r1/checkpoints/1/weights.bin');
    expect(opened.size).toBe(4096);
    const { error, ms } = await failure(async () => {
      for await (const chunk of opened.body) void chunk;
    });
    expect(error).toMatchObject({
      code: 'ETIMEDOUT',
      message: `the S3 server stopped mid-body: no bytes for ${DEADLINE_MS} ms (S3_REQUEST_TIMEOUT_MS)`,
    });
    expect(ms).toBeLessThan(DEADLINE_MS + 2000);
    expect(s3.connections).toBe(1);
    await s3.allClosed();
  });

  it('does not cut an upload that keeps moving for longer than the deadline', async () => {
    // Read in steps, with pauses shorter than the deadline, while more than the kernel's socket
    // buffers hold still waits to be written; the rest at once (a tail the kernel took whole and
    // that drains slower than the deadline would look idle: nothing of it is left to write).
    s3.reset({ kind: 'slow-reader', bytesPerPause: 1024 * 1024, pauses: 10, pauseMs: DEADLINE_MS / 3 });
    const body = Buffer.alloc(24 * 1024 * 1024, 7);
    const started = Date.now();
    await store.put('runs/r1/checkpoints/2/weights.bin', body);
    expect(Date.now() - started).toBeGreaterThan(2 * DEADLINE_MS);
    expect(s3.requests).toBe(1);
  });

  it('does not cut a download that keeps moving for longer than the deadline', async () => {
    const bytes = Buffer.from(Array.from({ length: 6000 }, (_, i) => i % 256));
    s3.reset({ kind: 'trickle', bytes, chunks: 6, everyMs: DEADLINE_MS / 2 });
    const started = Date.now();
    expect((await store.get('runs/r1/logs/0')).equals(bytes)).toBe(true);
    expect(Date.now() - started).toBeGreaterThan(2 * DEADLINE_MS);
    expect(s3.requests).toBe(1);
  });

  it('does not blame the server for a reader that stops reading', async () => {
    const bytes = Buffer.alloc(4 * 1024 * 1024, 3);
    s3.reset({ kind: 'answer', bytes });
    const opened = await store.getStream('runs/r1/checkpoints/3/weights.bin');
    await new Promise((resolve) => setTimeout(resolve, 3 * DEADLINE_MS));
    let received = 0;
    for await (const chunk of opened.body) received += (chunk as Buffer).length;
    expect(received).toBe(bytes.length);
  });
});

describe('S3ObjectStore connect deadline', () => {
  // A listening socket whose process never accepts: once its backlog is full the kernel drops
  // further SYNs, so a connect hangs as it would to a host that has gone away.
  let child: ChildProcess;
  let port: number;
  const fillers: Socket[] = [];

  beforeAll(async () => {
    const script = `
      const server = require('node:net').createServer();
      server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
        process.stdout.write(server.address().port + '\\n', () => {
          // Blocks the event loop (never accepting) without spinning; ends by itself if orphaned.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
          process.exit(0);
        });
      });`;
    child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    port = Number(line.toString().trim());
    for (let i = 0; i < 4; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      fillers.push(socket);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  });
  afterAll(async () => {
    for (const socket of fillers) socket.destroy();
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });

  it('gives up on a connection that does not open, retried, naming the deadline', async () => {
    const store = new S3ObjectStore({
      ...credentials,
      endpoint: `http://127.0.0.1:${port}`,
      retry,
      connectTimeoutMs: DEADLINE_MS,
      requestTimeoutMs: 60_000,
    });
    const { error, ms } = await failure(() => store.put('runs/r1/checkpoints/1/model.json', Buffer.from('{}')));
    expect(error).toBeInstanceOf(StorageRequestError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^put "runs/r1/checkpoints/1/model.json" on s3://deadlines \\(http://127.0.0.1:${port}\\) failed: ` +
          `could not connect to the S3 server within ${DEADLINE_MS} ms \\(S3_CONNECT_TIMEOUT_MS\\) \\(ETIMEDOUT\\)$`,
      ),
    );
    // Every try waited out its own deadline.
    expect(ms).toBeGreaterThanOrEqual(ATTEMPTS * DEADLINE_MS - 50);
    expect(ms).toBeLessThan(ATTEMPTS * DEADLINE_MS + 3000);
  });
});
