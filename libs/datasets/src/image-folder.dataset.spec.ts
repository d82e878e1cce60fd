import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStore } from '@trainyard/storage';
import sharp from 'sharp';
import { fixtureImage, writeFiles } from './image-folder.fixture';
import { InvalidImageFolderError, loadImageFolder, scanImageFolder } from './index';

let root: string;
beforeEach(async () => (root = await mkdtemp(join(tmpdir(), 'trainyard-image-folder-'))));
afterEach(() => rm(root, { recursive: true, force: true }));

/** cat: 6 PNG + 1 corrupt, dog: 5 JPEG + 1 empty, fox: 5 WebP (+ a README, ignored). */
async function writeAnimals(dir: string): Promise<void> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 6; i++) files[`cat/c${i}.png`] = await fixtureImage('png', i);
  for (let i = 0; i < 5; i++) files[`dog/d${i}.jpg`] = await fixtureImage('jpeg', 10 + i);
  for (let i = 0; i < 5; i++) files[`fox/f${i}.webp`] = await fixtureImage('webp', 20 + i);
  files['cat/broken.png'] = Buffer.from('this is not a png');
  files['dog/empty.jpeg'] = Buffer.alloc(0);
  files['fox/README.txt'] = Buffer.from('notes');
  files['labels.csv'] = Buffer.from('beside the classes');
  await writeFiles(dir, files);
}

describe('scanImageFolder', () => {
  it('lists classes in sorted order with their image files', async () => {
    await writeAnimals(join(root, 'animals'));
    const scan = await scanImageFolder(new LocalObjectStore(root), 'animals');
    expect(scan.classNames).toEqual(['cat', 'dog', 'fox']);
    expect(scan.counts).toEqual([7, 6, 5]);
    expect(scan.files[0]).toMatchObject({ key: 'animals/cat/broken.png', label: 0 });
    expect(scan.files.some((f) => f.key.endsWith('.txt'))).toBe(false);
  });

  it('refuses a single class, an empty class and a folder without classes, naming the folder', async () => {
    const store = new LocalObjectStore(root);
    await writeFiles(root, { 'one/a/x.png': await fixtureImage('png', 1) });
    await expect(scanImageFolder(store, 'one')).rejects.toThrow(/one\/ cannot be used: it has a single class 'a'/);

    await writeFiles(root, { 'two/a/x.png': await fixtureImage('png', 1), 'two/b/notes.txt': Buffer.from('') });
    await mkdir(join(root, 'two/c'));
    const error = await scanImageFolder(store, 'two/').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidImageFolderError);
    expect((error as InvalidImageFolderError).folder).toBe(`${store.uri('two/')}`);
    expect((error as Error).message).toMatch(/classes 'b', 'c' have no images/);

    await expect(scanImageFolder(store, 'nothing')).rejects.toThrow(/no class subfolders/);
  });
});

describe('loadImageFolder', () => {
  it('decodes PNG, JPEG and WebP to the target shape, skips and lists bad files, splits per class', async () => {
    await writeAnimals(root);
    const d = await loadImageFolder(new LocalObjectStore(root), '', {
      imageShape: [8, 10, 3],
      seed: 1,
      split: { validation: 0.2, test: 0.2 },
    });
    expect(d.classNames).toEqual(['cat', 'dog', 'fox']);
    expect(d.imageShape).toEqual([8, 10, 3]);
    expect(d.skipped).toEqual([
      {
        file: 'cat/broken.png',
        reason: 'not a readable image: not a PNG, JPEG or WebP image (it starts with 74 68 69 73 20 69 73 20)',
      },
      { file: 'dog/empty.jpeg', reason: 'the file is empty (0 bytes)' },
    ]);
    expect(d.train.count + d.validation.count + d.test.count).toBe(16);
    // 6 cats → 1 test + 1 validation; 5 dogs/foxes → 1 + 1 each.
    const perClass = (labels: Int32Array) => [0, 1, 2].map((c) => labels.filter((l) => l === c).length);
    expect(perClass(d.test.labels)).toEqual([1, 1, 1]);
    expect(perClass(d.validation.labels)).toEqual([1, 1, 1]);
    expect(perClass(d.train.labels)).toEqual([4, 3, 3]);
    expect(d.train.images.length).toBe(d.train.count * 8 * 10 * 3);
    expect(d.train.images.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(Math.max(...d.train.images)).toBe(1); // the white square survives resizing somewhere

    const again = await loadImageFolder(new LocalObjectStore(root), '', {
      imageShape: [8, 10, 3],
      seed: 1,
      split: { validation: 0.2, test: 0.2 },
    });
    expect(again.train.images).toEqual(d.train.images);
    const other = await loadImageFolder(new LocalObjectStore(root), '', {
      imageShape: [8, 10, 3],
      seed: 2,
      split: { validation: 0.2, test: 0.2 },
    });
    expect(other.train.labels).not.toEqual(d.train.labels);
  });

  it('decodes once: a second load reads every image (and every failure) from the cache', async () => {
    await writeAnimals(join(root, 'data'));
    const store = new LocalObjectStore(join(root, 'data'));
    const opts = { imageShape: [6, 6, 1] as [number, number, number], seed: 3, cacheDir: join(root, 'cache') };
    const first = await loadImageFolder(store, '', opts);
    // Neither the empty file nor the one that is no PNG, JPEG or WebP by its signature is decoded (nor cached).
    expect(first.stats).toEqual({ files: 18, decoded: 16, cacheHits: 0 });
    const second = await loadImageFolder(store, '', opts);
    expect(second.stats).toEqual({ files: 18, decoded: 0, cacheHits: 16 });
    expect(second.skipped).toEqual(first.skipped);
    expect(second.train.images).toEqual(first.train.images);
    // Another target shape is another cache entry.
    const bigger = await loadImageFolder(store, '', { ...opts, imageShape: [7, 7, 1] });
    expect(bigger.stats.decoded).toBe(16);
    // The cache's size cap is the caller's (WORKER_IMAGE_CACHE_BYTES): 0 keeps nothing.
    const uncached = { ...opts, cacheDir: join(root, 'no-cache'), cacheMaxBytes: 0 };
    await loadImageFolder(store, '', uncached);
    expect((await loadImageFolder(store, '', uncached)).stats).toEqual({ files: 18, decoded: 16, cacheHits: 0 });
  });

  it('cover crops, contain letterboxes in black', async () => {
    // A 20×10 white picture into a square: contain leaves black bars top and bottom, cover does not.
    const white = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    await writeFiles(root, { 'a/w.png': white, 'b/w2.png': white });
    const load = (fit: 'cover' | 'contain') =>
      loadImageFolder(new LocalObjectStore(root), '', { imageShape: [10, 10, 1], fit, seed: 1, split: { test: 0 } });
    const cover = await load('cover');
    const contain = await load('contain');
    expect(Math.min(...cover.train.images)).toBeCloseTo(1, 2);
    expect(contain.train.images[0]).toBe(0); // top-left corner is letterbox
    expect(contain.train.images[5 * 10 + 5]).toBeCloseTo(1, 2); // the centre is the picture
  });

  it('refuses a folder where a class has no readable image', async () => {
    await writeFiles(root, { 'a/x.png': await fixtureImage('png', 1), 'b/bad.png': Buffer.from('nope') });
    await expect(loadImageFolder(new LocalObjectStore(root), '', { imageShape: [4, 4, 1], seed: 1 })).rejects.toThrow(
      /class 'b' has no readable image \(1 file\(s\) skipped\)/,
    );
  });
});
