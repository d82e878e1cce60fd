import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { Header } from 'tar-stream';
import { DATASET_MAX_CLASSES } from '@trainyard/contracts';
import { UPLOADS_ROOT, type ObjectStore } from '@trainyard/storage';
import { OBJECT_STORE } from '@trainyard/infrastructure';
import { startS3TestServer, type S3TestServer } from '@trainyard/storage/testing';
import { startTestApi, type TestApi } from '../testing/test-api';
import { tarOf } from '../testing/tar-of';

const MAX_BYTES = 200_000;
/** FOLDER_WALK_MAX_FILES: images one upload may hold. */
const MAX_FILES = 10;

type TarEntries = [string, Buffer | Partial<Omit<Header, 'name'>>][];

/**
 * Four class folders, one of them (`yellow`, between the others) without an image: the store keeps
 * no empty folder, so only the upload can see it. The images before and after it are stored first.
 */
const colors = (yellow: TarEntries): Promise<Buffer> =>
  tarOf([
    ['./', { type: 'directory' }],
    ['./blue/', { type: 'directory' }],
    ['./blue/1.png', pngWithText('blue')],
    ['./green/1.png', pngWithText('green')],
    ...yellow,
    ['./red/1.png', pngWithText('red')],
  ]);

const IMAGE_LAYOUT = '(<class>/<image>.png|jpg|jpeg|webp)';

/** Class folders without an image, and what the 422 says of them (its `errors`). */
const classesWithoutImages: [string, () => Promise<Buffer>, string][] = [
  [
    'an explicit folder entry with nothing under it',
    () => colors([['./yellow/', { type: 'directory' }]]),
    `class folder "yellow" has no image inside ${IMAGE_LAYOUT}`,
  ],
  [
    'a folder whose only file is no image',
    () => colors([['./yellow/notes.txt', Buffer.from('to do: take photos')]]),
    `class folder "yellow" has no image inside ${IMAGE_LAYOUT}`,
  ],
  [
    'two such folders, one holding files named as images that are none',
    () =>
      colors([
        ['yellow/', { type: 'directory' }],
        ['yellow/sub/', { type: 'directory' }],
        ['purple/1.png', Buffer.from('<!DOCTYPE html>')],
        ['purple/2.jpg', Buffer.alloc(0)],
      ]),
    `class folders "yellow", "purple" have no image inside ${IMAGE_LAYOUT}: 2 file(s) named as images are none and were left out, e.g. "purple/1.png": not a PNG, JPEG or WebP image (it starts with 3c 21 44 4f 43 54 59 50)`,
  ],
  [
    'folders named after the prototype machinery, tallied as any other name',
    () =>
      colors([
        ['__proto__/', { type: 'directory' }],
        ['constructor/notes.txt', Buffer.from('x')],
      ]),
    `class folders "__proto__", "constructor" have no image inside ${IMAGE_LAYOUT}`,
  ],
];

/** Uploads `tar` as `name` and expects the 422 `errors`, no dataset `name`, and nothing new under datasets/uploads/. */
/**
 * `tar` with the last character of entry `name` (ASCII in the archive) replaced by the byte
 * `byte` and the header's checksum made right again: a name as an archiver writing Latin-1 names
 * would store it (`caf\xe9.png`).
 */
function latin1Name(tar: Buffer, name: string, byte: number): Buffer {
  const out = Buffer.from(tar);
  for (let at = 0; at + 512 <= out.length; at += 512) {
    if (out.toString('latin1', at, at + name.length) !== name || out[at + name.length] !== 0) continue;
    out[at + name.length - 5] = byte; // the character before ".png"
    out.fill(0x20, at + 148, at + 156);
    let sum = 0;
    for (let i = at; i < at + 512; i++) sum += out[i]!;
    out.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
    return out;
  }
  throw new Error(`no header named ${name}`);
}

async function expectClassRefused(api: TestApi, store: ObjectStore, name: string, tar: Buffer, errors: unknown) {
  const uploaded = async () => (await store.list(UPLOADS_ROOT)).map((o) => o.key);
  const before = await uploaded();
  const res = await api.fetch(`${api.baseUrl}/v1/datasets/uploads?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-tar' },
    body: tar,
  });
  expect(res.status).toBe(422);
  const problem = (await res.json()) as { message: string; errors: unknown };
  expect(problem).toMatchObject({ message: 'The upload cannot become a dataset' });
  expect(problem.errors).toEqual(errors);
  const datasets = ((await (await api.fetch(`${api.baseUrl}/v1/datasets`)).json()) as { items: { name: string }[] })
    .items;
  expect(datasets.map((d) => d.name)).not.toContain(name);
  expect(await uploaded()).toEqual(before);
}

/** POST /v1/datasets/uploads through the real API (PostgreSQL, Redis, its object store): what is stored, and what is refused with nothing left behind. */
/** The fields of an upload's answer the left-out files are checked by. */
interface UploadedWithSkips {
  counts: number[];
  location: { prefix: string };
  skipped: { entry: string; reason: string }[];
  skippedCount: number;
}

describe('dataset uploads (PostgreSQL, Redis, object store, HTTP)', () => {
  let api: TestApi;
  let store: ObjectStore;
  let png: Buffer[];

  beforeAll(async () => {
    api = await startTestApi({
      env: { DATASET_UPLOAD_MAX_BYTES: String(MAX_BYTES), FOLDER_WALK_MAX_FILES: String(MAX_FILES) },
    });
    store = api.app.get<ObjectStore>(OBJECT_STORE);
    // 1×1 PNGs, told apart by a text chunk: the API stores bytes and never decodes them.
    png = [1, 2, 3, 4].map((n) => pngWithText(`image ${n}`));
  });
  afterAll(async () => api?.stop());

  const upload = (name: string, body: Buffer, headers: Record<string, string> = {}) =>
    api.fetch(`${api.baseUrl}/v1/datasets/uploads?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-tar', ...headers },
      body,
    });
  const uploaded = async () => (await store.list(UPLOADS_ROOT)).map((o) => o.key);

  it('stores the images of each class folder, leaves the rest out, and registers the folder', async () => {
    const tar = await tarOf([
      ['./', { type: 'directory' }],
      ['./cat/', { type: 'directory' }],
      ['./cat/1.png', png[0]!],
      ['./cat/2.png', png[1]!],
      ['./dog/sub/1.png', png[2]!],
      ['./dog/2.png', png[3]!],
      ['./README.md', Buffer.from('# pets')],
      ['./dog/.DS_Store', Buffer.from('junk')],
    ]);
    const res = await upload('pets', tar);
    expect(res.status).toBe(201);
    const dataset = (await res.json()) as {
      id: string;
      name: string;
      classNames: string[];
      counts: number[];
      location: { kind: string; prefix: string };
    };
    expect(dataset).toMatchObject({ name: 'pets', classNames: ['cat', 'dog'], counts: [2, 2] });
    expect(dataset.location).toEqual({
      kind: 's3',
      prefix: expect.stringMatching(/^datasets\/uploads\/[0-9a-f-]{36}\/$/),
    });
    const { prefix } = dataset.location;
    expect((await store.list(prefix)).map((o) => o.key.slice(prefix.length))).toEqual([
      'cat/1.png',
      'cat/2.png',
      'dog/2.png',
      'dog/sub/1.png',
    ]);
    expect((await store.get(`${prefix}dog/sub/1.png`)).equals(png[2]!)).toBe(true);
    // What any registered folder offers: its record and its sample images.
    expect((await api.fetch(`${api.baseUrl}/v1/datasets/${dataset.id}`)).status).toBe(200);
    const sample = await api.fetch(`${api.baseUrl}/v1/datasets/${dataset.id}/samples/0/0`);
    expect([sample.status, sample.headers.get('content-type')]).toEqual([200, 'image/png']);

    // A taken name is a 409 before anything is stored.
    const before = await uploaded();
    const again = await upload('pets', tar);
    expect(again.status).toBe(409);
    expect(await uploaded()).toEqual(before);
  });

  it('refuses one name as both a file and a folder (422, no server path in the answer); a name twice keeps the later', async () => {
    const before = await uploaded();
    for (const entries of [
      [
        ['cat/1.png', png[0]!],
        ['cat/1.png/2.png', png[1]!],
        ['dog/1.png', png[2]!],
      ],
      [
        ['cat/1.png/2.png', png[1]!],
        ['cat/1.png', png[0]!],
        ['dog/1.png', png[2]!],
      ],
    ] as [string, Buffer][][]) {
      const res = await upload(`clash ${entries[0]![0]}`, await tarOf(entries));
      expect(res.status).toBe(422);
      const text = await res.text();
      expect((JSON.parse(text) as { errors: { field: string; message: string }[] }).errors).toEqual([
        { field: 'body', message: '"cat/1.png" is both a file and a folder in the archive' },
      ]);
      expect(text).not.toMatch(/EEXIST|EISDIR|ENOTDIR|\.trainyard|objects\//);
      expect(await uploaded()).toEqual(before);
    }
    const twice = await upload(
      'twice',
      await tarOf([
        ['cat/1.png', png[0]!],
        ['cat/1.png', png[1]!],
        ['dog/1.png', png[2]!],
      ]),
    );
    expect(twice.status).toBe(201);
    const dataset = (await twice.json()) as { counts: number[]; location: { prefix: string } };
    expect(dataset.counts).toEqual([1, 1]);
    expect((await store.get(`${dataset.location.prefix}cat/1.png`)).equals(png[1]!)).toBe(true);
  });

  it('leaves out files named as images whose bytes are none, and names each in its answer', async () => {
    const html = Buffer.from('<!DOCTYPE html><title>404</title>');
    const tar = await tarOf([
      ['cat/1.png', png[0]!],
      ['cat/2.png', html],
      ['dog/1.jpg', png[1]!], // a PNG under another image extension: decoded by its bytes, kept
      ['dog/2.webp', Buffer.alloc(0)],
      ['dog/3.jpeg', Buffer.from([0xff, 0xd8, 0xfe, 0x00])], // not quite JPEG's signature
    ]);
    const res = await upload('pets with strays', tar);
    expect(res.status).toBe(201);
    const dataset = (await res.json()) as UploadedWithSkips;
    expect(dataset).toMatchObject({ counts: [1, 1], skippedCount: 3 });
    expect(dataset.skipped).toEqual([
      { entry: 'cat/2.png', reason: 'not a PNG, JPEG or WebP image (it starts with 3c 21 44 4f 43 54 59 50)' },
      { entry: 'dog/2.webp', reason: 'an empty file' },
      { entry: 'dog/3.jpeg', reason: 'not a PNG, JPEG or WebP image (it starts with ff d8 fe 00)' },
    ]);
    const { prefix } = dataset.location;
    expect((await store.list(prefix)).map((o) => o.key.slice(prefix.length))).toEqual(['cat/1.png', 'dog/1.jpg']);
  });

  it('leaves out and lists an image whose own name no image may have, as a registered folder does; keeps NFC and NFD', async () => {
    const nfc = 'dog/caf\u00e9.png';
    const nfd = 'dog/cafe\u0301.png';
    const tar = await tarOf([
      ['cat/1.png', png[0]!],
      ['cat/a\\b.png', png[1]!],
      ['cat/\u001b[2J.png', png[0]!],
      [`cat/${'x'.repeat(300)}.png`, png[1]!],
      [nfc, png[0]!],
      [nfd, png[1]!],
    ]);
    const res = await upload('pets with odd names', tar);
    expect(res.status).toBe(201);
    const dataset = (await res.json()) as UploadedWithSkips;
    expect(dataset).toMatchObject({ counts: [1, 2], skippedCount: 3 });
    expect(dataset.skipped).toEqual([
      {
        entry: 'cat/a\\b.png',
        reason: 'left out: its name holds "\\" (a folder separator on Windows), which no object key may hold',
      },
      {
        entry: 'cat/\u001b[2J.png',
        reason:
          'left out: its name below the class folder is not text (control character U+001B at position 0 is not allowed)',
      },
      {
        entry: `cat/${'x'.repeat(300)}.png`,
        reason: 'left out: a name of 304 bytes, over the 255 bytes a file system holds',
      },
    ]);
    const { prefix } = dataset.location;
    expect((await store.list(prefix)).map((o) => o.key.slice(prefix.length)).sort()).toEqual(
      ['cat/1.png', nfd, nfc].sort(),
    );
  });

  const refusals: [string, () => Promise<Buffer>, number, RegExp][] = [
    [
      'a path out of the folder',
      () =>
        tarOf([
          ['cat/1.png', png[0]!],
          ['../evil.png', png[1]!],
        ]),
      422,
      /"\.\." segment/,
    ],
    [
      'an absolute path',
      () =>
        tarOf([
          ['cat/1.png', png[0]!],
          ['/tmp/dog/1.png', png[1]!],
        ]),
      422,
      /starts with "\/"/,
    ],
    [
      'a symlink',
      () =>
        tarOf([
          ['cat/1.png', png[0]!],
          ['dog/1.png', { type: 'symlink', linkname: '/etc/passwd' }],
        ]),
      422,
      /a symlink, not a plain file/,
    ],
    [
      'a hard link',
      () =>
        tarOf([
          ['cat/1.png', png[0]!],
          ['dog/1.png', { type: 'link', linkname: 'cat/1.png' }],
        ]),
      422,
      /a link, not a plain file/,
    ],
    [
      "a control character in a class folder's name",
      () =>
        tarOf([
          ['cat/1.png', png[0]!],
          ['\u001b[2J/1.png', png[1]!],
        ]),
      422,
      /Control character U\+001B/,
    ],
    [
      'a class whose one image has a control character in its name (left out: the class is empty)',
      () =>
        tarOf([
          ['cat/1.png', png[0]!],
          ['dog/\u001b[2J.png', png[1]!],
        ]),
      422,
      /class folder "dog" has no image inside .*control character U\+001B/,
    ],
    [
      'one class only',
      () =>
        tarOf([
          ['cat/1.png', png[0]!],
          ['cat/2.png', png[1]!],
        ]),
      422,
      /class/,
    ],
    ['no image at all', () => tarOf([['README.md', Buffer.from('x')]]), 422, /No image inside a class folder/],
    [
      'files named as images, none of them one',
      () =>
        tarOf([
          ['cat/1.png', Buffer.from('text')],
          ['dog/1.png', Buffer.from('more text')],
        ]),
      422,
      /No image inside a class folder .*: 2 file\(s\) named as images are none and were left out, e\.g\. "cat\/1\.png": not a PNG/,
    ],
    [
      'a class whose files are all no images',
      () =>
        tarOf([
          ['cat/1.png', png[0]!],
          ['dog/1.png', Buffer.from('text')],
        ]),
      422,
      /1 file\(s\) named as images are none and were left out, e\.g\. "dog\/1\.png"/,
    ],
    ['bytes that are no tar', async () => randomBytes(4096), 400, /Not a readable tar archive/],
    [
      'a tar cut off inside an image',
      async () =>
        (
          await tarOf([
            ['cat/1.png', png[0]!],
            ['dog/1.png', png[1]!],
          ])
        ).subarray(0, 512 + 200),
      400,
      /Not a readable tar archive/,
    ],
    [
      // tar-stream, like GNU tar, reads an archive cut at an entry's end as a shorter one: 2 of 3 images kept.
      'a tar cut off at the end of an entry',
      async () => {
        const entries: [string, Buffer][] = [
          ['cat/1.png', png[0]!],
          ['dog/1.png', png[1]!],
          ['dog/2.png', png[0]!],
        ];
        const blocks = (bytes: Buffer) => 512 + Math.ceil(bytes.length / 512) * 512;
        return (await tarOf(entries)).subarray(0, blocks(png[0]!) + blocks(png[1]!));
      },
      400,
      /Not a whole tar archive: it ends without the blocks of zeros that end a tar/,
    ],
    [
      'a name that is not UTF-8 (a Latin-1 tar: two names would become one)',
      async () =>
        latin1Name(
          await tarOf([
            ['cat/1.png', png[0]!],
            ['dog/cafX.png', png[1]!],
          ]),
          'dog/cafX.png',
          0xe9,
        ),
      422,
      /entry "dog\/caf\uFFFD\.png": its name is not UTF-8/,
    ],
    [
      'more images than FOLDER_WALK_MAX_FILES',
      () =>
        tarOf(
          Array.from({ length: MAX_FILES + 1 }, (_, i): [string, Buffer] => [
            `${i % 2 ? 'cat' : 'dog'}/${i}.png`,
            png[0]!,
          ]),
        ),
      422,
      /More than 10 images \(FOLDER_WALK_MAX_FILES\)/,
    ],
    [
      'more bytes than DATASET_UPLOAD_MAX_BYTES',
      async () => Buffer.alloc(MAX_BYTES + 1),
      413,
      /DATASET_UPLOAD_MAX_BYTES/,
    ],
  ];

  it.each(refusals)('refuses %s, naming why, and leaves nothing in the store', async (_what, body, status, why) => {
    const before = await uploaded();
    const res = await upload('refused', await body());
    expect(res.status).toBe(status);
    const problem = (await res.json()) as { errors: { field: string; message: string }[] };
    expect(problem.errors.map((e) => e.message).join('; ')).toMatch(why);
    expect(await uploaded()).toEqual(before);
    const names = ((await (await api.fetch(`${api.baseUrl}/v1/datasets`)).json()) as { items: { name: string }[] })
      .items;
    expect(names.map((d) => d.name)).not.toContain('refused');
  });

  it.each(classesWithoutImages)(
    'refuses a class folder without an image (%s), naming it, and leaves nothing in the store',
    async (what, body, message) => {
      await expectClassRefused(api, store, `colors-empty: ${what}`, await body(), [{ field: 'body', message }]);
    },
  );

  it('leaves out the folders tools write (hidden ones, __MACOSX) rather than taking them for empty classes', async () => {
    // What macOS's tar and Finder add beside the classes: AppleDouble files (magic 00 05 16 07).
    const appleDouble = Buffer.from([0x00, 0x05, 0x16, 0x07, 0x00, 0x02, 0x00, 0x00]);
    const res = await upload(
      'colors with junk',
      await tarOf([
        ['./', { type: 'directory' }],
        ['./.DS_Store', Buffer.from('junk')],
        ['./.git/', { type: 'directory' }],
        ['./.git/HEAD', Buffer.from('ref: refs/heads/main')],
        ['./.ipynb_checkpoints/', { type: 'directory' }],
        ['./__MACOSX/', { type: 'directory' }],
        ['./__MACOSX/red/._1.png', appleDouble],
        // An image in a tool's folder makes no class either: it is not stored.
        ['./.ipynb_checkpoints/red/1-checkpoint.png', png[0]!],
        ['./red/1.png', png[0]!],
        ['./red/._1.png', appleDouble],
        // Nor one in a tool's folder inside a class: Jupyter's copy is no second red image.
        ['./red/.ipynb_checkpoints/1-checkpoint.png', png[0]!],
        ['./green/1.png', png[1]!],
      ]),
    );
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      classNames: ['green', 'red'],
      counts: [1, 1],
      // What sits in a tool's folder, and a hidden file beside an image (macOS's ._1.png), is no
      // image: left out without a word, as a folder scan leaves it out.
      skipped: [],
      skippedCount: 0,
    });
    expect((await uploaded()).filter((key) => key.includes('ipynb') || key.includes('__MACOSX'))).toEqual([]);
  });

  /** The body streamed in 16 KiB chunks without a Content-Length (Transfer-Encoding: chunked). */
  const uploadChunked = (name: string, body: Buffer) =>
    api.fetch(`${api.baseUrl}/v1/datasets/uploads?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-tar' },
      body: new ReadableStream({
        start(controller) {
          for (let at = 0; at < body.length; at += 16_384) controller.enqueue(body.subarray(at, at + 16_384));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);

  const chunkedRefusals: [string, () => Promise<Buffer>, number, RegExp][] = [
    [
      'entries left out (files that are no images) past DATASET_UPLOAD_MAX_BYTES',
      () =>
        tarOf([
          ['cat/1.png', png[0]!],
          ['dog/1.png', png[1]!],
          ...Array.from({ length: 8 }, (_, i): [string, Buffer] => [`cat/${i}.txt`, Buffer.alloc(50_000, 1)]),
        ]),
      413,
      /larger than DATASET_UPLOAD_MAX_BYTES \(200000 bytes\)/,
    ],
    [
      'one file beside the class folders declaring more than DATASET_UPLOAD_MAX_BYTES',
      () =>
        tarOf([
          ['cat/1.png', png[0]!],
          ['dog/1.png', png[1]!],
          ['notes.txt', Buffer.alloc(MAX_BYTES + 1)],
        ]),
      413,
      /DATASET_UPLOAD_MAX_BYTES/,
    ],
    [
      'folders past DATASET_UPLOAD_MAX_BYTES in headers alone',
      () =>
        tarOf([
          ['cat/1.png', png[0]!],
          ['dog/1.png', png[1]!],
          // Folders carry no content: only their headers, here with 30 kB pax records, count.
          ...Array.from({ length: 9 }, (_, i): [string, { type: 'directory'; pax: Record<string, string> }] => [
            `cat/${i}/`,
            { type: 'directory', pax: { comment: 'x'.repeat(30_000) } },
          ]),
        ]),
      413,
      /DATASET_UPLOAD_MAX_BYTES/,
    ],
    [
      'more entries left out than FOLDER_WALK_MAX_FILES',
      () =>
        tarOf([
          ['cat/1.png', png[0]!],
          ['dog/1.png', png[1]!],
          ...Array.from({ length: MAX_FILES + 1 }, (_, i): [string, Buffer] => [`cat/${i}.txt`, Buffer.from('x')]),
        ]),
      422,
      /More than 10 entries that are no images .*FOLDER_WALK_MAX_FILES/,
    ],
  ];

  it.each(chunkedRefusals)(
    'refuses %s when sent chunked, without a Content-Length, leaving nothing behind',
    async (_what, body, status, why) => {
      const before = await uploaded();
      const res = await uploadChunked('refused', await body());
      expect(res.status).toBe(status);
      const problem = (await res.json()) as { errors: { field: string; message: string }[] };
      expect(problem.errors).toEqual([{ field: 'body', message: expect.stringMatching(why) }]);
      expect(await uploaded()).toEqual(before);
      const names = ((await (await api.fetch(`${api.baseUrl}/v1/datasets`)).json()) as { items: { name: string }[] })
        .items;
      expect(names.map((d) => d.name)).not.toContain('refused');
    },
  );

  it('still takes a chunked upload within the limits, its skipped entries and headers counted', async () => {
    const res = await uploadChunked(
      'chunked pets',
      await tarOf([
        ['cat/', { type: 'directory' }],
        ['cat/1.png', png[0]!],
        ['dog/1.png', png[1]!],
        ['cat/notes.txt', Buffer.alloc(50_000, 1)],
        ['README.md', Buffer.alloc(50_000, 1)],
      ]),
    );
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ classNames: ['cat', 'dog'], counts: [1, 1] });
  });

  it('needs a valid name, the tar content type and a key', async () => {
    const tar = await tarOf([
      ['cat/1.png', png[0]!],
      ['dog/1.png', png[1]!],
    ]);
    const noName = await api.fetch(`${api.baseUrl}/v1/datasets/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-tar' },
      body: tar,
    });
    expect(noName.status).toBe(400);
    expect(((await noName.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toContain('name');
    expect((await upload('bad\u0007name', tar)).status).toBe(400);
    expect((await upload('text', tar, { 'content-type': 'text/plain' })).status).toBe(415);
    // JSON passes the API's body rule, but is no folder.
    expect((await upload('json', Buffer.from('{"a":1}'), { 'content-type': 'application/json' })).status).toBe(415);
    const anonymous = await fetch(`${api.baseUrl}/v1/datasets/uploads?name=anon`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-tar' },
      body: tar,
    });
    expect(anonymous.status).toBe(401);
    // Still serving.
    expect((await api.fetch(`${api.baseUrl}/v1/datasets`)).status).toBe(200);
  });
});

describe('dataset uploads over S3 (PostgreSQL, Redis, S3 server, HTTP)', () => {
  let s3: S3TestServer;
  let api: TestApi;
  let store: ObjectStore;
  beforeAll(async () => {
    s3 = await startS3TestServer();
    api = await startTestApi({
      env: { ...s3.env() },
    });
    store = api.app.get<ObjectStore>(OBJECT_STORE);
  });
  afterAll(async () => {
    await api?.stop();
    await s3?.stop();
  });

  it.each(classesWithoutImages)(
    'refuses a class folder without an image (%s) and deletes the images it had stored',
    async (what, body, message) => {
      await expectClassRefused(api, store, `colors-empty: ${what}`, await body(), [{ field: 'body', message }]);
    },
  );
});

describe('dataset uploads when the object store fails (PostgreSQL, Redis, local store, HTTP)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => api?.stop());

  it("answers 503 without the store's paths or reason, and keeps serving", async () => {
    // A file where the uploads' folder goes: every store put under it fails (ENOTDIR), as a full
    // or unwritable disk would.
    mkdirSync(join(api.home, 'objects', 'datasets'), { recursive: true });
    writeFileSync(join(api.home, 'objects', 'datasets', 'uploads'), 'in the way');
    const tar = await tarOf([
      ['cat/1.png', pngWithText('a')],
      ['dog/1.png', pngWithText('b')],
    ]);
    const res = await api.fetch(`${api.baseUrl}/v1/datasets/uploads?name=broken`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-tar' },
      body: tar,
    });
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).toContain('The object store did not take the upload');
    expect(text).not.toMatch(/ENOTDIR|EEXIST|trainyard-api-|objects\/datasets/);
    expect((await api.fetch(`${api.baseUrl}/v1/datasets`)).status).toBe(200);
  });
});

/** A valid 1×1 grey PNG with a tEXt chunk holding `text`. */
function pngWithText(text: string): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]); // 1×1, 8-bit greyscale
  const pixels = deflateSync(Buffer.from([0, 128])); // filter byte, one grey pixel
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('tEXt', Buffer.from(`Comment\0${text}`, 'latin1')),
    chunk('IDAT', pixels),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe("a dataset's classes, capped (PostgreSQL, Redis, local store, HTTP)", () => {
  let api: TestApi;
  let store: ObjectStore;
  let roots: string;
  const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
  const classFolder = (i: number) => `class-${String(i).padStart(6, '0')}`;

  beforeAll(async () => {
    roots = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-classes-')));
    api = await startTestApi({ env: { TRAINYARD_LOCAL_ROOTS: roots } });
    store = api.app.get<ObjectStore>(OBJECT_STORE);
  });
  afterAll(async () => {
    await api?.stop();
    rmSync(roots, { recursive: true, force: true });
  });

  it(`refuses an upload of more than DATASET_MAX_CLASSES (${DATASET_MAX_CLASSES}) class folders, storing nothing`, async () => {
    // Before, any number was registered: 20,000 classes of one tiny image made a 3 MB row, and every
    // list of the project's datasets carried it.
    const entries: TarEntries = [['class-000000/1.png', PNG]];
    for (let i = 1; i <= DATASET_MAX_CLASSES; i++) entries.push([`${classFolder(i)}/`, { type: 'directory' }]);
    const res = await api.fetch(`${api.baseUrl}/v1/datasets/uploads?name=too-many`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-tar' },
      body: await tarOf(entries),
    });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { errors: { field: string; message: string }[] };
    expect(problem.errors).toEqual([
      { field: 'body', message: expect.stringContaining(`at most ${DATASET_MAX_CLASSES}`) },
    ]);
    expect(await store.list(UPLOADS_ROOT)).toEqual([]);
  }, 60_000);

  it('refuses a folder of more class folders registered by path, naming location', async () => {
    const folder = join(roots, 'many');
    for (let i = 0; i <= DATASET_MAX_CLASSES; i++) {
      mkdirSync(join(folder, classFolder(i)), { recursive: true });
      writeFileSync(join(folder, classFolder(i), '1.png'), PNG);
    }
    const res = await api.fetch(`${api.baseUrl}/v1/datasets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'many', location: { kind: 'local', path: folder } }),
    });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { errors: { field: string; message: string }[] };
    expect(problem.errors).toEqual([
      { field: 'location', message: expect.stringContaining(`${DATASET_MAX_CLASSES + 1} class folders`) },
    ]);
    // One fewer is registered.
    rmSync(join(folder, classFolder(0)), { recursive: true });
    const fewer = await api.fetch(`${api.baseUrl}/v1/datasets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'many', location: { kind: 'local', path: folder } }),
    });
    expect(fewer.status).toBe(201);
  }, 120_000);
});
