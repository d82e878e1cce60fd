import { once } from 'node:events';
import { request, type ClientRequest, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pack } from 'tar-stream';
import { OBJECT_STORE } from '@trainyard/infrastructure';
import { UPLOADS_ROOT, type ObjectStore } from '@trainyard/storage';
import { startS3TestServer, type S3TestServer } from '@trainyard/storage/testing';
import { projectKey } from '../testing/keyed-requests';
import { tarOf } from '../testing/tar-of';
import { startTestApi, type TestApi } from '../testing/test-api';
import { DatasetUploadLimiter, UPLOAD_RETRY_AFTER_S } from './dataset-upload.limiter';

const MiB = 2 ** 20;
/** What makes bytes an image to the API (it never decodes them): a PNG's signature, then anything. */
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const image = (text: string) => Buffer.concat([PNG_SIGNATURE, Buffer.from(text)]);
/** Written again and again: what a held upload sends costs the test no memory of its own. */
const ZEROS = Buffer.alloc(MiB);

/** A whole tar of two classes, one small image each. */
const smallFolder = () =>
  tarOf([
    ['cat/1.png', image('cat')],
    ['dog/1.png', image('dog')],
  ]);

/** The 512-byte header tar-stream writes for a file entry of `size` bytes. */
async function entryHeader(name: string, size: number): Promise<Buffer> {
  const tar = pack();
  tar.entry({ name, size });
  const first = await tar[Symbol.asyncIterator]().next();
  tar.destroy();
  return first.value as Buffer;
}

/** `entries` as tar bytes without the end-of-archive blocks, so that more can follow. */
async function openTar(entries: [string, Buffer][]): Promise<Buffer> {
  const tar = await tarOf(entries);
  return tar.subarray(0, tar.length - 1024);
}

/**
 * An upload its client holds open: the request's headers, a small complete image `<cls>/1.png`,
 * then the header of `<cls>/big.png` declaring more bytes than the client ever sends (a PNG
 * signature, then zeros), so the API waits for the rest. Sent chunked, as the CLI sends.
 */
class HeldUpload {
  /** The status of the API's answer; rejects when the API cuts the connection instead. */
  readonly answer: Promise<number>;
  private readonly req: ClientRequest;
  private trickling: NodeJS.Timeout | undefined;

  constructor(baseUrl: string, token: string, name: string) {
    this.req = request(new URL(`/v1/datasets/uploads?name=${encodeURIComponent(name)}`, baseUrl), {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-tar' },
    });
    this.answer = new Promise<number>((resolve, reject) => {
      this.req.once('error', reject);
      this.req.once('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
    });
    // A held upload the API cuts ends in a socket error: awaited where a test expects it.
    this.answer.catch(() => undefined);
  }

  /** Starts the tar: `<cls>/1.png` whole, then `<cls>/big.png`'s header declaring `declared` bytes, and its signature. */
  async begin(cls: string, declared: number): Promise<void> {
    await this.write(await openTar([[`${cls}/1.png`, image(cls)]]));
    await this.write(await entryHeader(`${cls}/big.png`, declared));
    await this.write(PNG_SIGNATURE);
  }

  /** Writes `bytes` zeros of the entry, waiting whenever the socket's buffer is full. */
  async send(bytes: number): Promise<void> {
    for (let left = bytes; left > 0; left -= ZEROS.length)
      await this.write(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
  }

  /** Keeps the upload alive (not stalled) with a byte every `everyMs`, never finishing the entry. */
  trickle(everyMs: number): void {
    this.trickling = setInterval(() => this.req.write(ZEROS.subarray(0, 1)), everyMs);
  }

  /** Stops sending, the connection left open: a client that stalled. */
  stall(): void {
    clearInterval(this.trickling);
  }

  /** The client goes away: its connection closed mid-entry. */
  goAway(): void {
    this.stall();
    this.req.destroy();
  }

  private async write(bytes: Buffer): Promise<void> {
    if (!this.req.write(bytes)) await once(this.req, 'drain');
  }
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const upload = (api: TestApi, token: string, name: string, tar: Buffer) =>
  fetch(`${api.baseUrl}/v1/datasets/uploads?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-tar' },
    body: tar,
  });

/** Memory that stays in use: the JS heap and every Buffer's bytes, after a full collection (the test API runs in this process). */
function liveBytesAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

describe('dataset uploads held open mid-image (PostgreSQL, Redis, S3 server, HTTP)', () => {
  const HELD = 6;
  const DECLARED = 40 * MiB;
  let s3: S3TestServer;
  let api: TestApi;
  let store: ObjectStore;

  beforeAll(async () => {
    s3 = await startS3TestServer();
    api = await startTestApi({
      env: {
        ...s3.env(),
        // Above the held uploads: the memory they cost is what is measured here, not the limits.
        DATASET_UPLOAD_MAX_PER_KEY: String(HELD + 2),
        DATASET_UPLOAD_MAX_PER_PROCESS: String(HELD + 2),
        STALLED_CLIENT_MS: '600000',
      },
    });
    store = api.app.get<ObjectStore>(OBJECT_STORE);
  });
  afterAll(async () => {
    await api?.stop();
    await s3?.stop();
  });

  it('holds no image whole: six uploads one byte short of a 40 MiB image cost the API a part each, not the image', async () => {
    // Every code path and connection warmed first, so the baseline is the API at rest.
    expect((await upload(api, api.adminKey, 'warm-up', await smallFolder())).status).toBe(201);
    const server = api.app.getHttpServer() as Server;
    const sockets: Socket[] = [];
    const track = (socket: Socket) => sockets.push(socket);
    server.on('connection', track);
    const before = liveBytesAfterGc();

    const held = Array.from({ length: HELD }, (_, i) => new HeldUpload(api.baseUrl, api.adminKey, `held ${i}`));
    try {
      await Promise.all(
        held.map(async (upload, i) => {
          await upload.begin(`cls${i}`, DECLARED);
          await upload.send(DECLARED - PNG_SIGNATURE.length - 1);
        }),
      );
      // What the API has taken off its sockets: all of it but what the kernel still buffers.
      const taken = () => sockets.reduce((sum, socket) => sum + socket.bytesRead, 0);
      await until(
        `the API has read the held uploads (${Math.round(taken() / MiB)} MiB so far)`,
        () => taken() >= HELD * (DECLARED - MiB),
        120_000,
      );
      expect(api.app.get(DatasetUploadLimiter).openUploads).toBe(HELD);
      // Still serving while they wait.
      expect((await api.fetch(`${api.baseUrl}/v1/datasets`)).status).toBe(200);

      // Each holds at most one 5 MiB part (plus stream buffers): 30 MiB in all. Holding the images
      // would be 240 MiB, as before the fix: the API then grew by 242 MiB here.
      const grownMiB = (liveBytesAfterGc() - before) / MiB;
      expect(grownMiB).toBeLessThan(HELD * 8);
    } finally {
      held.forEach((upload) => upload.goAway());
      server.off('connection', track);
    }
    // Their places given back, and what each stored (its first image, the parts of the big one) gone.
    await until('the held uploads are given up', () => api.app.get(DatasetUploadLimiter).openUploads === 0);
    await until('nothing of theirs is left in the store', async () =>
      (await store.list(UPLOADS_ROOT)).every((o) => !/\/cls\d\//.test(o.key)),
    );
  });
});

describe('dataset uploads open at once (PostgreSQL, Redis, local store, HTTP)', () => {
  /** STALLED_CLIENT_MS here: held uploads send a byte four times as often, a stalled one none. */
  const STALLED_MS = 3000;
  let api: TestApi;
  let store: ObjectStore;
  let limiter: DatasetUploadLimiter;

  beforeAll(async () => {
    // DATASET_UPLOAD_MAX_PER_KEY and DATASET_UPLOAD_MAX_PER_PROCESS left at their defaults, 2 and 4.
    api = await startTestApi({ env: { STALLED_CLIENT_MS: String(STALLED_MS) } });
    store = api.app.get<ObjectStore>(OBJECT_STORE);
    limiter = api.app.get(DatasetUploadLimiter);
  });
  afterAll(async () => api?.stop());

  /** Uploads held open by a test, let go after it whatever happened. */
  const held: HeldUpload[] = [];
  afterEach(() => held.splice(0).forEach((upload) => upload.goAway()));

  /** Opens an upload as `token` and holds it mid-image, alive; resolves once the API counts it open. */
  async function hold(token: string, name: string): Promise<HeldUpload> {
    const open = limiter.openUploads;
    const upload = new HeldUpload(api.baseUrl, token, name);
    held.push(upload);
    await upload.begin('cls', MiB);
    upload.trickle(STALLED_MS / 4);
    await until(`"${name}" is open`, () => limiter.openUploads === open + 1);
    return upload;
  }

  it("answers 429 with Retry-After past a key's uploads and past the server's, and takes them again once clients go or stall", async () => {
    const [a, b, c] = await Promise.all(['uploads-a', 'uploads-b', 'uploads-c'].map((p) => projectKey(api, p)));
    const [a1, a2] = [await hold(a!, 'a held 1'), await hold(a!, 'a held 2')];
    const thirdOfA = await upload(api, a!, 'a third', await smallFolder());
    expect([thirdOfA.status, thirdOfA.headers.get('retry-after')]).toEqual([429, String(UPLOAD_RETRY_AFTER_S)]);
    expect(((await thirdOfA.json()) as { message: string }).message).toBe(
      `Too many dataset uploads at once: this key has 2 open (DATASET_UPLOAD_MAX_PER_KEY=2); try again once one has finished (Retry-After: ${UPLOAD_RETRY_AFTER_S} s)`,
    );

    const [b1, b2] = [await hold(b!, 'b held 1'), await hold(b!, 'b held 2')];
    const firstOfC = await upload(api, c!, 'c first', await smallFolder());
    expect([firstOfC.status, firstOfC.headers.get('retry-after')]).toEqual([429, String(UPLOAD_RETRY_AFTER_S)]);
    expect(((await firstOfC.json()) as { message: string }).message).toMatch(
      /this server has 4 open \(DATASET_UPLOAD_MAX_PER_PROCESS=4\)/,
    );
    expect(limiter.openUploads).toBe(4);

    // A's clients go away mid-image: their places come back, and A uploads again.
    a1.goAway();
    a2.goAway();
    await until("a's places are given back", () => limiter.openUploads === 2);
    expect((await upload(api, a!, 'a again', await smallFolder())).status).toBe(201);

    // B's clients stop sending, connections open: cut after STALLED_CLIENT_MS, their places given back.
    const stalledAt = Date.now();
    b1.stall();
    b2.stall();
    await expect(b1.answer).rejects.toThrow(/socket hang up|ECONNRESET/);
    await until("b's places are given back", () => limiter.openUploads === 0, 4 * STALLED_MS);
    // Cut for the stall (their last byte went at most a trickle's interval before it), nothing else.
    expect(Date.now() - stalledAt).toBeGreaterThanOrEqual(STALLED_MS * 0.75 - 50);
    expect((await upload(api, c!, 'c again', await smallFolder())).status).toBe(201);

    // Only what the uploads that ended well stored: the ones refused stored nothing, and what the
    // ones gone or cut had stored (their first image) was deleted as they failed.
    const stored = await api.fetch(`${api.baseUrl}/v1/datasets`);
    const datasets = ((await stored.json()) as { items: { name: string; location: { prefix: string } }[] }).items;
    expect(datasets.map((d) => d.name).sort()).toEqual(['a again', 'c again']);
    const kept = datasets.map((d) => d.location.prefix);
    await until('the gone and cut uploads deleted what they stored', async () =>
      (await store.list(UPLOADS_ROOT)).every((o) => kept.some((prefix) => o.key.startsWith(prefix))),
    );
  });

  it('gives the place back however an upload ends: refused, failed or stored', async () => {
    const key = await projectKey(api, 'uploads-ends');
    const answers: number[] = [];
    const tries: (() => Promise<Response>)[] = [
      async () => upload(api, key, 'ends stored', await smallFolder()),
      async () => upload(api, key, 'ends stored', await smallFolder()), // 409: the name is taken
      async () => upload(api, key, 'ends not a tar', Buffer.alloc(4096, 7)), // 400
      async () => upload(api, key, 'ends one class', await tarOf([['cat/1.png', image('cat')]])), // 422
      async () => upload(api, key, 'ends cut', (await smallFolder()).subarray(0, 700)), // 400, cut inside an image
    ];
    for (const attempt of tries) {
      answers.push((await attempt()).status);
      expect(limiter.openUploads).toBe(0);
    }
    expect(answers).toEqual([201, 409, 400, 422, 400]);
  });
});

/**
 * A client on a raw socket: the request's head with a `Content-Length` it never reaches, then
 * `start`, then one byte of the unfinished image every `everyMs`, below any stall. Resolves with
 * everything the API wrote back once it closes the connection.
 */
function trickle(api: TestApi, token: string, name: string, start: Buffer, everyMs: number) {
  const url = new URL(`/v1/datasets/uploads?name=${encodeURIComponent(name)}`, api.baseUrl);
  const socket = connect(Number(url.port), url.hostname);
  socket.on('error', () => undefined);
  socket.write(
    `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/x-tar\r\nContent-Length: ${start.length + MiB}\r\n\r\n`,
  );
  socket.write(start);
  const dribble = setInterval(() => socket.write(ZEROS.subarray(0, 1)), everyMs);
  const answered = new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('close', () => {
      clearInterval(dribble);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
  return { answered, end: () => socket.destroy() };
}

/** Writes `tar` in `chunk`-byte pieces every `everyMs`: an honest client on a slow link. */
async function* slowly(tar: Buffer, chunk: number, everyMs: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < tar.length; at += chunk) {
    yield tar.subarray(at, at + chunk);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

describe('dataset uploads slower than DATASET_UPLOAD_MIN_BYTES_PER_SECOND (PostgreSQL, Redis, local store, HTTP)', () => {
  /** Small, so the test runs in seconds: 2 KiB/s averaged over 1.5 s. */
  const MIN_RATE = 2048;
  const WINDOW_MS = 1500;
  let api: TestApi;
  let store: ObjectStore;
  let limiter: DatasetUploadLimiter;

  beforeAll(async () => {
    api = await startTestApi({
      env: {
        DATASET_UPLOAD_MIN_BYTES_PER_SECOND: String(MIN_RATE),
        DATASET_UPLOAD_RATE_WINDOW_MS: String(WINDOW_MS),
        // Far above the trickle's gaps: only the floor can cut it.
        STALLED_CLIENT_MS: '60000',
        // One place in the process: a second upload (the key may hold two) is refused it and waits for it.
        DATASET_UPLOAD_MAX_PER_PROCESS: '1',
        DATASET_UPLOAD_MAX_PER_KEY: '2',
      },
    });
    store = api.app.get<ObjectStore>(OBJECT_STORE);
    limiter = api.app.get(DatasetUploadLimiter);
  });
  afterAll(async () => api?.stop());

  it('leaves a client trickling a byte every 50 ms alone while nobody waits, then cuts it once an upload is refused its place: a 408 naming the floor, its place freed, nothing stored', async () => {
    const start = Buffer.concat([
      await openTar([['cat/1.png', image('cat')]]),
      await entryHeader('cat/big.png', MiB),
      PNG_SIGNATURE,
    ]);
    const startedAt = Date.now();
    const client = trickle(api, api.adminKey, 'trickled', start, 50);
    try {
      await until('the upload is open', () => limiter.openUploads === 1, 10_000);
      // Its first image is stored while it trickles: the cut must delete it.
      await until('its first image is stored', async () =>
        (await store.list(UPLOADS_ROOT)).some((o) => o.key.endsWith('/cat/1.png')),
      );
      // Far below the floor for well over a window, but its place is wanted by nobody: it goes on.
      await new Promise((r) => setTimeout(r, 2.5 * WINDOW_MS));
      expect(limiter.openUploads).toBe(1);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2 * WINDOW_MS);

      // Another upload wants the one place and is refused it: the trickle is now judged, and cut.
      const refused = await upload(api, api.adminKey, 'waiting', await smallFolder());
      expect(refused.status).toBe(429);
      const refusedAt = Date.now();
      await until('the trickling upload is cut', () => limiter.openUploads === 0, 10 * WINDOW_MS);
      // Within about a tick of the refusal: its average was kept all along.
      expect(Date.now() - refusedAt).toBeLessThan(WINDOW_MS);
      const answer = await client.answered;
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toMatch(
        /The upload arrived at \d+ bytes\/s over the last 2 s, below DATASET_UPLOAD_MIN_BYTES_PER_SECOND \(2048 bytes\/s\), while another upload waited for its place/,
      );
      expect(await store.list(UPLOADS_ROOT)).toEqual([]);
      expect((await api.fetch(`${api.baseUrl}/v1/datasets`)).status).toBe(200);
    } finally {
      client.end();
    }
    const listed = (await (await api.fetch(`${api.baseUrl}/v1/datasets`)).json()) as { items: { name: string }[] };
    expect(listed.items.map((d) => d.name)).not.toContain('trickled');
  });

  it('takes a fast upload and a slow but honest one (4× the floor, over several windows)', async () => {
    expect((await upload(api, api.adminKey, 'fast', await smallFolder())).status).toBe(201);
    const tar = await tarOf([
      ['cat/1.png', Buffer.concat([PNG_SIGNATURE, Buffer.alloc(16 * 1024, 1)])],
      ['dog/1.png', Buffer.concat([PNG_SIGNATURE, Buffer.alloc(16 * 1024, 2)])],
    ]);
    const startedAt = Date.now();
    // 1 KiB every 125 ms: 8 KiB/s, about 4.5 s in all, three windows.
    const res = await fetch(`${api.baseUrl}/v1/datasets/uploads?name=honest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.adminKey}`, 'content-type': 'application/x-tar' },
      body: ReadableStream.from(slowly(tar, 1024, 125)),
      duplex: 'half',
    } as RequestInit);
    expect([res.status, await res.text()]).toEqual([201, expect.stringContaining('"honest"')]);
    expect(Date.now() - startedAt).toBeGreaterThan(2 * WINDOW_MS);
    expect(limiter.openUploads).toBe(0);
  });
});
