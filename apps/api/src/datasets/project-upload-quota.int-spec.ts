import { request } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '@trainyard/db';
import { DATABASE, OBJECT_STORE } from '@trainyard/infrastructure';
import { UPLOADS_ROOT, type ObjectStore } from '@trainyard/storage';
import { projectKey, requestAs } from '../testing/keyed-requests';
import { tarOf } from '../testing/tar-of';
import { startTestApi, type TestApi } from '../testing/test-api';

const QUOTA = 40_000;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** An "image" of `size` bytes: the API checks a signature and never decodes. */
const image = (size: number, fill: number) => Buffer.concat([PNG_SIGNATURE, Buffer.alloc(size - 8, fill)]);
/** Two classes of one image each: 2 × `size` bytes of images, a little more of tar. */
const folder = (size: number) =>
  tarOf([
    ['cat/1.png', image(size, 1)],
    ['dog/1.png', image(size, 2)],
  ]);

/**
 * QUOTA_PROJECT_UPLOAD_BYTES: a project's uploaded datasets together hold at most that many bytes
 * of images in the store (before, one project's key could fill the shared bucket 2 GiB at a time).
 */
describe('a project quota of uploaded bytes (PostgreSQL, Redis, object store, HTTP)', () => {
  let api: TestApi;
  let store: ObjectStore;
  let keyA: string;
  let keyB: string;

  beforeAll(async () => {
    api = await startTestApi({ env: { QUOTA_PROJECT_UPLOAD_BYTES: String(QUOTA) } });
    store = api.app.get<ObjectStore>(OBJECT_STORE);
    [keyA, keyB] = await Promise.all([projectKey(api, 'quota-a'), projectKey(api, 'quota-b')]);
  });
  afterAll(() => api?.stop());

  const upload = async (key: string, name: string, body: Buffer, chunked = false) => {
    const res = await fetch(`${api.baseUrl}/v1/datasets/uploads?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-tar' },
      // A stream has no Content-Length: the API finds the size as the bytes arrive (the CLI's way).
      body: chunked ? (Readable.toWeb(Readable.from([body])) as ReadableStream) : body,
      ...(chunked ? { duplex: 'half' } : {}),
    } as RequestInit);
    return {
      status: res.status,
      body: (await res.json()) as {
        id: string;
        uploadedBytes: number | null;
        message: string;
        errors?: { field: string; message: string }[];
      },
    };
  };
  const uploadedKeys = async () => (await store.list(UPLOADS_ROOT)).length;
  const recorded = async (id: string) =>
    (await api.app.get<Database>(DATABASE).prisma.dataset.findUnique({ where: { id } }))?.uploadedBytes;

  it("records each upload's image bytes and refuses the one that would pass the quota, naming it, with nothing kept", async () => {
    const first = await upload(keyA, 'first', await folder(12_000));
    expect(first.status).toBe(201);
    expect(await recorded(first.body['id'])).toBe(24_000n);
    // Shown with the dataset, and in the list, so a project sees what it holds.
    expect(first.body.uploadedBytes).toBe(24_000);
    expect((await requestAs(api, keyA, 'GET', `/v1/datasets/${first.body.id}`)).body.uploadedBytes).toBe(24_000);
    expect((await requestAs(api, keyA, 'GET', '/v1/datasets')).body.items[0].uploadedBytes).toBe(24_000);
    const before = await uploadedKeys();

    // 24,000 held, 16,000 left: a declared 24,000 and more is refused before a byte is read.
    const declared = await upload(keyA, 'declared', await folder(12_000));
    expect(declared).toMatchObject({
      status: 413,
      body: { errors: [{ field: 'body', message: expect.stringMatching(/QUOTA_PROJECT_UPLOAD_BYTES.*24000 bytes/) }] },
    });
    // Sent without a length: cut once the body passes the room left.
    const streamed = await upload(keyA, 'streamed', await folder(12_000), true);
    expect(streamed).toMatchObject({
      status: 413,
      body: { errors: [{ field: 'body', message: expect.stringMatching(/QUOTA_PROJECT_UPLOAD_BYTES/) }] },
    });
    expect(await uploadedKeys()).toBe(before);
    expect((await requestAs(api, keyA, 'GET', '/v1/datasets')).body.items.map((d: { name: string }) => d.name)).toEqual(
      ['first'],
    );

    // What fits in the room passes.
    expect((await upload(keyA, 'small', await folder(4_000))).status).toBe(201);
  });

  it("holds each project to its own uploads: another project's are not counted", async () => {
    expect((await upload(keyB, 'b-first', await folder(12_000))).status).toBe(201);
  });

  it('gives the room back when an uploaded dataset is deleted', async () => {
    expect((await upload(keyB, 'b-second', await folder(12_000))).status).toBe(413);
    const list = (await requestAs(api, keyB, 'GET', '/v1/datasets')).body.items as { id: string; name: string }[];
    const id = list.find((d) => d.name === 'b-first')!.id;
    expect((await requestAs(api, keyB, 'DELETE', `/v1/datasets/${id}`)).status).toBe(200);
    expect((await upload(keyB, 'b-second', await folder(12_000))).status).toBe(201);
  });

  /** An upload with a declared length whose body is sent in two halves, the second after `pauseMs`. */
  const uploadInHalves = (key: string, name: string, body: Buffer, pauseMs: number) =>
    new Promise<{ status: number; body: { message: string; errors?: { message: string }[] } }>((resolve, reject) => {
      const req = request(
        `${api.baseUrl}/v1/datasets/uploads?name=${name}`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/x-tar',
            'content-length': body.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }),
          );
        },
      );
      req.on('error', reject);
      req.write(body.subarray(0, body.length / 2));
      void sleep(pauseMs).then(() => req.end(body.subarray(body.length / 2)));
    });

  it('holds uploads open at the same time to the quota together: the room each body may bring is set aside first', async () => {
    const keyC = await projectKey(api, 'quota-c');
    // Each fits the empty room of 40,000 alone (two images of 9,000 and a tar's headers); not both.
    const body = await folder(9_000);
    expect(body.length).toBeLessThan(QUOTA);
    expect(2 * body.length).toBeGreaterThan(QUOTA);
    const [one, two] = await Promise.all([
      // Each holds its second half back 2 s: both are open together however loaded the machine.
      uploadInHalves(keyC, 'c-one', body, 2_000),
      sleep(100).then(() => uploadInHalves(keyC, 'c-two', body, 2_000)),
    ]);
    expect([one.status, two.status].sort()).toEqual([201, 413]);
    const refused = one.status === 413 ? one : two;
    expect(refused.body.errors![0]!.message).toMatch(
      new RegExp(
        `QUOTA_PROJECT_UPLOAD_BYTES.*hold 0 bytes and its other uploads in progress have ${body.length} set aside`,
      ),
    );
    // Both ended: no room stays set aside, and the one stored is counted as a dataset.
    const prisma = api.app.get<Database>(DATABASE).prisma;
    expect(await prisma.uploadReservation.count()).toBe(0);
    const items = (await requestAs(api, keyC, 'GET', '/v1/datasets')).body.items;
    expect(items.map((d: { uploadedBytes: number }) => d.uploadedBytes)).toEqual([18_000]);
  });

  it('leaves no room set aside after an empty body, one that is no tar, or a client gone mid-way', async () => {
    const keyD = await projectKey(api, 'quota-d');
    const prisma = api.app.get<Database>(DATABASE).prisma;
    expect((await upload(keyD, 'empty', Buffer.alloc(0))).status).toBe(400);
    expect((await upload(keyD, 'not-a-tar', Buffer.alloc(4_096, 7))).status).toBe(400);
    // Declared, half sent, then the connection dropped.
    const body = await folder(9_000);
    await new Promise<void>((resolve) => {
      const req = request(`${api.baseUrl}/v1/datasets/uploads?name=gone`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${keyD}`,
          'content-type': 'application/x-tar',
          'content-length': body.length,
        },
      });
      req.on('error', () => resolve());
      req.write(body.subarray(0, body.length / 2), () => setTimeout(() => req.destroy(), 300));
    });
    const deadline = Date.now() + 10_000;
    while ((await prisma.uploadReservation.count({ where: { project: 'quota-d' } })) > 0 && Date.now() < deadline)
      await sleep(100);
    expect(await prisma.uploadReservation.count({ where: { project: 'quota-d' } })).toBe(0);
    // The whole quota is there to take.
    expect((await upload(keyD, 'whole', await folder(18_000))).status).toBe(201);
  });

  it('holds a project to its own quota an operator set, and shows what its uploads hold in its limits', async () => {
    const keyE = await projectKey(api, 'quota-e');
    const limits = async () => (await requestAs(api, keyE, 'GET', '/v1/projects/quota-e/limits')).body;
    const setOwn = async (maxUploadBytes: number | null) =>
      expect(
        (await requestAs(api, api.adminKey, 'PATCH', '/v1/projects/quota-e/limits', { maxUploadBytes })).status,
      ).toBe(200);
    const body = await folder(9_000);

    await setOwn(20_000);
    const refused = await upload(keyE, 'e-one', body);
    expect(refused.status).toBe(413);
    expect(refused.body.errors![0]).toMatchObject({
      field: 'body',
      message: expect.stringMatching(
        /its own upload quota \(maxUploadBytes, 20000 bytes\): its datasets uploaded hold 0 bytes/,
      ),
    });
    // Above the default of 40,000: two uploads fit.
    await setOwn(100_000);
    for (const name of ['e-one', 'e-two']) expect((await upload(keyE, name, body)).status).toBe(201);
    // While one is in progress, the room it set aside shows.
    const inProgress = uploadInHalves(keyE, 'e-three', body, 5_000);
    const deadline = Date.now() + 4_000;
    while ((await limits()).uploadsInProgressBytes === 0 && Date.now() < deadline) await sleep(100);
    expect(await limits()).toMatchObject({
      maxUploadBytes: 100_000,
      defaultMaxUploadBytes: QUOTA,
      effectiveMaxUploadBytes: 100_000,
      uploadedBytes: 36_000,
      uploadsInProgressBytes: body.length,
    });
    expect((await inProgress).status).toBe(201);
    expect(await limits()).toMatchObject({ uploadedBytes: 54_000, uploadsInProgressBytes: 0 });

    // 0: the project uploads nothing more; null: back to the default, which its uploads already pass.
    await setOwn(0);
    expect((await upload(keyE, 'e-four', await folder(100))).status).toBe(413);
    await setOwn(null);
    expect(await limits()).toMatchObject({ maxUploadBytes: null, effectiveMaxUploadBytes: QUOTA });
    const past = await upload(keyE, 'e-four', await folder(100));
    expect(past.body.errors![0]!.message).toMatch(
      /QUOTA_PROJECT_UPLOAD_BYTES \(40000 bytes\).*hold 54000 bytes, leaving 0/,
    );
  });

  it('does not count folders registered by path or prefix (the project holds them itself)', async () => {
    const prefix = 'teams/quota-b/pets/';
    for (const cls of ['cat', 'dog']) await store.put(`${prefix}${cls}/1.png`, image(30_000, 3));
    const registered = await requestAs(api, keyB, 'POST', '/v1/datasets', {
      name: 'registered',
      location: { kind: 's3', prefix },
    });
    expect(registered.status).toBe(201);
    expect(await recorded(registered.body.id)).toBeNull();
    expect(registered.body.uploadedBytes).toBeNull();
  });
});
