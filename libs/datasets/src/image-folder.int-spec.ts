import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_IMAGE_FILE_BYTES, S3ObjectStore } from '@trainyard/storage';
import { startS3TestServer, type S3TestServer } from '@trainyard/storage/testing';
import { fixtureImage, imageIdentities } from './image-folder.fixture';
import { loadImageFolder, scanImageFolder } from './index';

// The same loader over S3 (s3rver over real HTTP): listing a prefix, reading objects, caching locally.
describe('image folder under an S3 prefix', () => {
  let server: S3TestServer;
  let store: S3ObjectStore;
  let cacheDir: string;
  const prefix = `datasets/${randomUUID()}/`;

  beforeAll(async () => {
    server = await startS3TestServer();
    store = new S3ObjectStore({ ...server, retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 20 } });
    cacheDir = await mkdtemp(join(tmpdir(), 'trainyard-image-cache-'));
    for (let i = 0; i < 4; i++) await store.put(`${prefix}circle/${i}.png`, await fixtureImage('png', i));
    for (let i = 0; i < 4; i++) await store.put(`${prefix}square/${i}.webp`, await fixtureImage('webp', 10 + i));
    await store.put(`${prefix}square/corrupt.jpg`, Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01]));
    await store.put(`${prefix}empty/.keep`, Buffer.alloc(0));
  });
  afterAll(async () => {
    await server?.stop();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('refuses the class that only holds a marker file, naming the s3 folder', async () => {
    await expect(scanImageFolder(store, prefix)).rejects.toThrow(
      new RegExp(`s3://${server.bucket}.*${prefix}.*class 'empty' has no images`),
    );
  });

  it('loads, skips the corrupt object and decodes nothing the second time', async () => {
    await store.delete([`${prefix}empty/.keep`]);
    const opts = { imageShape: [12, 12, 3] as [number, number, number], seed: 5, cacheDir, split: { test: 0.25 } };
    const first = await loadImageFolder(store, prefix, opts);
    expect(first.classNames).toEqual(['circle', 'square']);
    expect(first.skipped).toEqual([
      { file: `${prefix}square/corrupt.jpg`, reason: 'not a readable image: corrupt or truncated JPEG' },
    ]);
    expect(first.train.count).toBe(6);
    expect(first.test.count).toBe(2);
    expect(first.stats.decoded).toBe(9);
    const second = await loadImageFolder(store, prefix, opts);
    expect(second.stats).toEqual({ files: 9, decoded: 0, cacheHits: 9 });
    expect(second.test.images).toEqual(first.test.images);
  });

  it('reads no object over MAX_IMAGE_FILE_BYTES and decodes none that is no PNG, JPEG or WebP', async () => {
    const mixed = `datasets/${randomUUID()}/`;
    for (let i = 0; i < 3; i++) await store.put(`${mixed}circle/${i}.png`, await fixtureImage('png', 50 + i));
    for (let i = 0; i < 3; i++) await store.put(`${mixed}square/${i}.jpg`, await fixtureImage('jpeg', 60 + i));
    // One byte over the cap: the listing's size says so, and the object is never requested.
    const zeros = async function* () {
      for (let left = MAX_IMAGE_FILE_BYTES + 1; left > 0; left -= 2 ** 20)
        yield new Uint8Array(Math.min(left, 2 ** 20));
    };
    await store.putStream(`${mixed}circle/video.png`, zeros(), MAX_IMAGE_FILE_BYTES + 1);
    await store.put(`${mixed}square/drawing.jpg`, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'));
    const requested: string[] = [];
    const counted: S3ObjectStore = Object.create(store);
    counted.get = (key) => (requested.push(key), store.get(key));
    counted.getStream = (key) => (requested.push(key), store.getStream(key));

    const d = await loadImageFolder(counted, mixed, { imageShape: [8, 8, 3], seed: 1 });

    expect(d.skipped).toEqual([
      {
        file: `${mixed}circle/video.png`,
        reason: `the file is ${MAX_IMAGE_FILE_BYTES + 1} bytes, over the 67108864-byte (64 MiB) limit per image (MAX_IMAGE_FILE_BYTES); it was not read`,
      },
      {
        file: `${mixed}square/drawing.jpg`,
        reason: 'not a readable image: not a PNG, JPEG or WebP image (it starts with 3c 73 76 67 20 78 6d 6c)',
      },
    ]);
    expect(requested).not.toContain(`${mixed}circle/video.png`);
    expect(requested).toHaveLength(7);
    expect(d.stats).toEqual({ files: 8, decoded: 6, cacheHits: 0 });
  });

  it('keeps every held-out image out of training when an image is added: the split is by key', async () => {
    const grown = `datasets/${randomUUID()}/`;
    for (const [c, name] of ['ant', 'bee', 'cat'].entries())
      for (let i = 0; i < 12; i++) await store.put(`${grown}${name}/${i}.png`, await fixtureImage('png', 40 * c + i));
    const opts = { imageShape: [8, 8, 3] as [number, number, number], seed: 3, split: { validation: 0.2, test: 0.25 } };
    const before = await loadImageFolder(store, grown, opts);
    await store.put(`${grown}bee/00-new.png`, await fixtureImage('png', 200));
    const after = await loadImageFolder(store, grown, opts);
    const trainedBefore = new Set(imageIdentities(before.train));
    const trainedAfter = new Set(imageIdentities(after.train));
    // Was: one image more reshuffled every class (a position split), and an evaluation scored on trained images.
    expect(imageIdentities(after.test).filter((image) => trainedBefore.has(image))).toEqual([]);
    expect(imageIdentities(before.test).filter((image) => trainedAfter.has(image))).toEqual([]);
    // The classes that did not grow hold out exactly what they did.
    const notBee = (images: string[]) => images.filter((image) => !image.startsWith('1:'));
    expect(notBee(imageIdentities(after.test))).toEqual(notBee(imageIdentities(before.test)));
  });
});
