import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStore } from '@trainyard/storage';
import { fixtureImage, writeFiles } from './image-folder.fixture';
import { InvalidImageFolderError, loadImageFolder, packImageFolder, scanImageFolder } from './index';

let root: string;
beforeEach(async () => (root = await mkdtemp(join(tmpdir(), 'trainyard-image-names-'))));
afterEach(() => rm(root, { recursive: true, force: true }));

const BACKSLASH = 'cat/a\\b.png';
const ESCAPE = 'cat/\u001b[2J\u001b]52;c;aGk=\u0007.png';
const DEL = 'dog/del\u007f.png';
const NFC = 'dog/caf\u00e9.png';
const NFD = 'dog/cafe\u0301.png';
const byFile = (a: { file: string }, b: { file: string }) => (a.file < b.file ? -1 : 1);
const left = (file: string, reason: RegExp) => ({ file, reason: expect.stringMatching(reason) as unknown });
const LEFT_OUT = [
  left(BACKSLASH, /^left out: its name holds "\\" \(a folder separator on Windows\), which no object key may hold$/),
  left(ESCAPE, /^left out: its name below the class folder is not text \(control character U\+001B/),
  left(DEL, /^left out: its name below the class folder is not text \(control character U\+007F/),
].sort(byFile);

/** Real files on disk with hostile names (no NUL: no file system holds one) beside good images. */
async function writeHostileFolder(): Promise<void> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 4; i++) files[`cat/${i}.png`] = await fixtureImage('png', i);
  for (let i = 0; i < 4; i++) files[`dog/${i}.png`] = await fixtureImage('png', 10 + i);
  files['cat/a..b.png'] = await fixtureImage('png', 20); // dots inside a name are no ".." segment
  for (const [i, name] of [BACKSLASH, ESCAPE, DEL, NFC, NFD].entries()) files[name] = await fixtureImage('png', 30 + i);
  await writeFiles(root, files);
}

describe('an image whose file name no image may have is left out and listed, the same on every path', () => {
  it('the listing (registration) leaves it out of the files and counts, listed with why', async () => {
    await writeHostileFolder();
    expect((await readdir(join(root, 'cat'))).sort()).toContain('a\\b.png');
    const scan = await scanImageFolder(new LocalObjectStore(root), '');
    expect(scan.counts).toEqual([5, 6]);
    expect(scan.files.map((f) => f.key)).not.toContain(BACKSLASH);
    expect([...scan.leftOut].sort(byFile)).toEqual(LEFT_OUT);
    // NFC and NFD spellings of one name are two files and two images.
    expect(scan.files.map((f) => f.key)).toEqual(expect.arrayContaining([NFC, NFD]));
  });

  it('a load lists it in the data report and trains on the rest, both spellings of café included', async () => {
    await writeHostileFolder();
    const d = await loadImageFolder(new LocalObjectStore(root), '', { imageShape: [8, 8, 3], seed: 1 });
    expect([...d.skipped].sort(byFile)).toEqual(LEFT_OUT);
    // Files found counts the left-out ones: the images trained on and the files skipped.
    expect(d.stats).toEqual({ files: 14, decoded: 11, cacheHits: 0 });
    expect(d.train.count + d.validation.count + d.test.count).toBe(11);
    expect(d.stats.files).toBe(11 + d.skipped.length);
  });

  it('a pack leaves it out of the version and lists it in the manifest', async () => {
    await writeHostileFolder();
    const dest = new LocalObjectStore(await mkdtemp(join(tmpdir(), 'trainyard-image-names-dest-')));
    try {
      const packed = await packImageFolder(new LocalObjectStore(root), '', dest);
      expect([...packed.skipped].sort(byFile)).toEqual(LEFT_OUT);
      expect([...(packed.manifest.skipped ?? [])].sort(byFile)).toEqual(LEFT_OUT);
      expect(packed.manifest.images).toBe(11);
      const keys = packed.manifest.shards.flatMap((s) => s.entries.map((e) => e.key));
      expect(keys).toEqual(expect.arrayContaining([NFC, NFD, 'cat/a..b.png']));
      expect(keys).not.toContain(BACKSLASH);
    } finally {
      await rm(dest.root, { recursive: true, force: true });
    }
  });

  it('a class whose only images have such names is refused as empty, saying why', async () => {
    await writeFiles(root, {
      'cat/1.png': await fixtureImage('png', 1),
      'dog/a\\b.png': await fixtureImage('png', 2),
    });
    const error = await scanImageFolder(new LocalObjectStore(root), '').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidImageFolderError);
    expect((error as Error).message).toContain(
      `class 'dog' has no images (.jpg, .jpeg, .png, .webp); files named as images were left out for their names ("dog/a\\\\b.png": left out: its name holds "\\" (a folder separator on Windows), which no object key may hold)`,
    );
  });
});
