import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStore, MAX_IMAGE_FILE_BYTES, type ObjectStore } from '@trainyard/storage';
import sharp from 'sharp';
import { fixtureImage, writeFiles } from './image-folder.fixture';
import { decodeImage, ImageDecodeError } from './image-decode';
import { loadImageFolder } from './image-folder.dataset';
import { packImageFolder } from './packed';

/** Every buffer handed to sharp in this file's process: what a decoder was ever given. */
const mockSharpInputs: Buffer[] = [];
jest.mock('sharp', () => {
  const actual = jest.requireActual('sharp');
  const counted = (input: unknown, ...rest: unknown[]) => {
    if (Buffer.isBuffer(input)) mockSharpInputs.push(input);
    return actual(input, ...rest);
  };
  return { __esModule: true, default: Object.assign(counted, actual) };
});

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'trainyard-folder-read-'));
  mockSharpInputs.length = 0;
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** The store, with every read of a key counted (`get` and `getStream` alike). */
function countingReads(store: LocalObjectStore): { store: ObjectStore; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const count = (key: string) => reads.set(key, (reads.get(key) ?? 0) + 1);
  // Its prototype is the store: the scan still sees a LocalObjectStore (and its empty folders).
  const counted: LocalObjectStore = Object.create(store);
  counted.get = (key) => (count(key), store.get(key));
  counted.getStream = (key) => (count(key), store.getStream(key));
  return { store: counted, reads };
}

/** A sparse file of `bytes` (a hole: nothing written, no disk or time spent). */
async function sparse(path: string, bytes: number): Promise<void> {
  await writeFile(join(root, path), '');
  await truncate(join(root, path), bytes);
}

const shape: [number, number, number] = [8, 8, 3];
const total = (d: { train: { count: number }; validation: { count: number }; test: { count: number } }) =>
  d.train.count + d.validation.count + d.test.count;

describe('a registered folder: what its load reads', () => {
  it('skips a file over MAX_IMAGE_FILE_BYTES by its listed size without reading it, naming its size and the cap', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 4; i++) files[`a/${i}.png`] = await fixtureImage('png', i);
    for (let i = 0; i < 4; i++) files[`b/${i}.png`] = await fixtureImage('png', 10 + i);
    await writeFiles(root, files);
    // Was: each read whole (8 at a time) only to fail decoding: 2.6 GB of RSS in the training child.
    await sparse('a/video.jpg', 1200 * 2 ** 20);
    await sparse('b/dump.png', 1200 * 2 ** 20);
    await sparse('a/over.png', MAX_IMAGE_FILE_BYTES + 1);
    await sparse('b/at-cap.png', MAX_IMAGE_FILE_BYTES); // at the cap: read (and found to be no image)
    const { store, reads } = countingReads(new LocalObjectStore(root));

    const d = await loadImageFolder(store, '', { imageShape: shape, seed: 1 });

    const over = (bytes: number) =>
      `the file is ${bytes} bytes, over the 67108864-byte (64 MiB) limit per image (MAX_IMAGE_FILE_BYTES); it was not read`;
    expect(d.skipped).toEqual([
      { file: 'a/over.png', reason: over(MAX_IMAGE_FILE_BYTES + 1) },
      { file: 'a/video.jpg', reason: over(1_258_291_200) },
      {
        file: 'b/at-cap.png',
        reason: 'not a readable image: not a PNG, JPEG or WebP image (it starts with 00 00 00 00 00 00 00 00)',
      },
      { file: 'b/dump.png', reason: over(1_258_291_200) },
    ]);
    expect(['a/over.png', 'a/video.jpg', 'b/dump.png'].map((key) => reads.get(key) ?? 0)).toEqual([0, 0, 0]);
    expect(reads.get('b/at-cap.png')).toBe(1);
    expect(total(d)).toBe(8);
    expect(d.stats).toEqual({ files: 12, decoded: 8, cacheHits: 0 });
  });

  it('packs the same folder without reading a file over the cap, encoded or decoded, and lists it', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 2; i++) files[`a/${i}.png`] = await fixtureImage('png', i);
    for (let i = 0; i < 2; i++) files[`b/${i}.png`] = await fixtureImage('png', 10 + i);
    await writeFiles(root, files);
    await sparse('a/video.jpg', 1200 * 2 ** 20); // was read whole and packed into a shard of its own
    for (const decodeTo of [undefined, { imageShape: shape, fit: 'fill' as const }]) {
      const { store, reads } = countingReads(new LocalObjectStore(root));
      const dest = new LocalObjectStore(await mkdtemp(join(root, '..', 'trainyard-pack-dest-')));
      const { manifest } = await packImageFolder(store, '', dest, { decodeTo });
      expect(manifest.skipped).toEqual([
        {
          file: 'a/video.jpg',
          reason: `the file is 1258291200 bytes, over the 67108864-byte (64 MiB) limit per image (MAX_IMAGE_FILE_BYTES); it was not read`,
        },
      ]);
      expect(manifest.images).toBe(4);
      expect(reads.get('a/video.jpg') ?? 0).toBe(0);
      await rm(dest.root, { recursive: true, force: true });
    }
  });

  it('decodes only PNG, JPEG and WebP by their signature: TIFF, GIF, AVIF and SVG under image names are skipped, never decoded', async () => {
    const green = () => sharp({ create: { width: 8, height: 8, channels: 3, background: '#00ff00' } });
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="red"/></svg>',
    );
    const files: Record<string, Buffer> = {
      'a/tiff.png': await green().tiff().toBuffer(),
      'a/gif.jpg': await green().gif().toBuffer(),
      'b/avif.webp': await green().avif().toBuffer(),
      'b/drawing.png': svg,
    };
    for (let i = 0; i < 3; i++) files[`a/${i}.jpg`] = await fixtureImage('jpeg', i);
    for (let i = 0; i < 3; i++) files[`b/${i}.webp`] = await fixtureImage('webp', 10 + i);
    await writeFiles(root, files);
    mockSharpInputs.length = 0;

    const d = await loadImageFolder(new LocalObjectStore(root), '', { imageShape: shape, seed: 1 });

    // Was: all four trained on (the SVG rendered), while an upload left them out and the sample route answered 422.
    const notImage = (start: string) => `not a readable image: not a PNG, JPEG or WebP image (it starts with ${start})`;
    expect(d.skipped).toEqual([
      { file: 'a/gif.jpg', reason: notImage('47 49 46 38 39 61 08 00') },
      { file: 'a/tiff.png', reason: notImage('49 49 2a 00 36 00 00 00') },
      { file: 'b/avif.webp', reason: notImage('00 00 00 1c 66 74 79 70') },
      { file: 'b/drawing.png', reason: notImage('3c 73 76 67 20 78 6d 6c') },
    ]);
    expect(total(d)).toBe(6);
    expect(d.stats.decoded).toBe(6);
    expect(mockSharpInputs.length).toBeGreaterThanOrEqual(6); // the count sees every decode
    const given = new Set(mockSharpInputs);
    for (const key of Object.keys(files).filter((k) => !/\/\d\./.test(k))) expect(given.has(files[key])).toBe(false);
    expect(mockSharpInputs.some((input) => input.subarray(0, 4).toString() === '<svg')).toBe(false);

    // decodeImage, which packing and the stream use too, holds the same rule.
    const error = await decodeImage(svg, shape, 'cover').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect((error as Error).message).toBe('not a PNG, JPEG or WebP image (it starts with 3c 73 76 67 20 78 6d 6c)');
    expect(mockSharpInputs.some((input) => input === svg)).toBe(false);
  });
});

describe('a file that does not decode: its reason', () => {
  /** Noise, so every format holds enough data to be cut in its middle. */
  const noise = () =>
    sharp({
      create: {
        width: 48,
        height: 48,
        channels: 3,
        background: '#000000',
        noise: { type: 'gaussian', mean: 128, sigma: 40 },
      },
    });
  let encoded: Record<'JPEG' | 'PNG' | 'WebP', Buffer>;
  beforeAll(async () => {
    encoded = {
      JPEG: await noise().jpeg().toBuffer(),
      PNG: await noise().png().toBuffer(),
      WebP: await noise().webp().toBuffer(),
    };
  });
  /** Each format cut at several lengths (inside the header, inside the data) and one with its body garbled. */
  const broken = () =>
    (['JPEG', 'PNG', 'WebP'] as const).flatMap((format) => {
      const bytes = encoded[format];
      const cuts = [30, 100, 200, Math.floor(bytes.length / 2), bytes.length - 40].map((n) => ({
        format,
        bytes: bytes.subarray(0, n),
      }));
      const garbled = Buffer.from(bytes);
      garbled.fill(0x5a, 12, 300);
      return [...cuts, { format, bytes: garbled }];
    });

  it('is said from what the bytes are, the same under concurrency, never libvips text', async () => {
    // Was: libvips' error buffer is shared by concurrent decodes: a truncated JPEG read as
    // `vipspng: libpng read error`, messages merged, or `Warning treated as error due to failOn setting`.
    const cases = broken();
    for (let round = 0; round < 3; round++) {
      const reasons = await Promise.all(
        [...cases, ...cases].map(({ bytes }) =>
          decodeImage(bytes, shape, 'cover').then(
            () => 'decoded',
            (error: unknown) => (error instanceof ImageDecodeError ? error.message : `thrown: ${String(error)}`),
          ),
        ),
      );
      expect(reasons).toEqual([...cases, ...cases].map(({ format }) => `corrupt or truncated ${format}`));
    }
  });

  it('is listed the same on every load of a folder, eight files decoding at once', async () => {
    const files: Record<string, Buffer> = {};
    broken().forEach(
      ({ format, bytes }, i) => (files[`${i % 2 ? 'a' : 'b'}/broken-${i}.${format.toLowerCase()}`] = bytes),
    );
    for (let i = 0; i < 3; i++) files[`a/${i}.png`] = await fixtureImage('png', i);
    for (let i = 0; i < 3; i++) files[`b/${i}.png`] = await fixtureImage('png', 10 + i);
    await writeFiles(root, files);
    const load = () => loadImageFolder(new LocalObjectStore(root), '', { imageShape: shape, seed: 1, concurrency: 8 });
    const first = await load();
    expect(first.skipped).toHaveLength(18);
    for (const { file, reason } of first.skipped) {
      const format = { jpeg: 'JPEG', png: 'PNG', webp: 'WebP' }[file.slice(file.lastIndexOf('.') + 1)];
      expect(reason).toBe(`not a readable image: corrupt or truncated ${format}`);
    }
    expect((await load()).skipped).toEqual(first.skipped);
  });
});
