import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStore, MAX_IMAGE_FILE_BYTES, type ObjectStore } from '@trainyard/storage';
import { fixtureImage, writeFiles } from './image-folder.fixture';
import { loadImageFolder } from './image-folder.dataset';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'trainyard-folder-read-'));
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
      { file: 'b/at-cap.png', reason: expect.stringMatching(/^not a readable image: /) },
      { file: 'b/dump.png', reason: over(1_258_291_200) },
    ]);
    expect(['a/over.png', 'a/video.jpg', 'b/dump.png'].map((key) => reads.get(key) ?? 0)).toEqual([0, 0, 0]);
    expect(reads.get('b/at-cap.png')).toBe(1);
    expect(total(d)).toBe(8);
    expect(d.stats).toEqual({ files: 12, decoded: 9, cacheHits: 0 });
  });
});
