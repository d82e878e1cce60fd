import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FolderWalkLimitError,
  InvalidImageFolderError,
  isFolderImage,
  isToolFolder,
  LocalObjectStore,
  scanImageFolder,
} from './index';

/** Listing only: file contents are never read, so any bytes stand in for images here. */
describe('scanImageFolder (layout check shared by the API and libs/datasets)', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'layout-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const file = (path: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), 'x');
  };

  it('lists classes in sorted order with their image counts, ignoring non-images and loose files', async () => {
    ['b/1.png', 'b/2.JPG', 'a/x/3.webp', 'a/README.md', 'loose.png'].forEach(file);
    const scan = await scanImageFolder(new LocalObjectStore(root), '');
    expect(scan.classNames).toEqual(['a', 'b']);
    expect(scan.counts).toEqual([1, 2]);
  });

  it("counts no hidden file as an image: macOS's ._photo.png beside photo.png is metadata", async () => {
    ['a/1.png', 'a/._1.png', 'b/2.png', 'b/x/._2.png', 'b/.3.png'].forEach(file);
    const scan = await scanImageFolder(new LocalObjectStore(root), '');
    expect(scan.counts).toEqual([1, 1]);
    expect(scan.files.map((f) => f.key)).toEqual(['a/1.png', 'b/2.png']);
  });

  it("takes no tool's folder for a class (hidden ones, __MACOSX), empty or holding images", async () => {
    ['cat/1.png', 'dog/2.png', '.git/HEAD', '.ipynb_checkpoints/cat/1-checkpoint.png', '__MACOSX/cat/._1.png'].forEach(
      file,
    );
    mkdirSync(join(root, '.DS_Store-like'));
    mkdirSync(join(root, '.empty'));
    const scan = await scanImageFolder(new LocalObjectStore(root), '');
    expect(scan.classNames).toEqual(['cat', 'dog']);
    expect(scan.files.map((f) => f.key)).toEqual(['cat/1.png', 'dog/2.png']);
    expect(['.git', '.DS_Store', '__MACOSX', 'cat', 'MACOSX', '_MACOSX', 'cat.'].map(isToolFolder)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });

  it('sorts classes by code point, as Python sorted() does, not by UTF-16 unit', async () => {
    // U+FF5A and U+1F600: UTF-16 puts the emoji (its first unit U+D83D) first.
    ['\u{1F600}/1.png', '\uFF5A/1.png', 'a/1.png'].forEach(file);
    const scan = await scanImageFolder(new LocalObjectStore(root), '');
    expect(scan.classNames).toEqual(['a', '\uFF5A', '\u{1F600}']);
    expect(scan.files.map((f) => f.label)).toEqual([0, 1, 2]);
  });

  it("takes no image from a tool's folder inside a class, at any depth", async () => {
    [
      'circle/circle_01.png',
      'circle/.ipynb_checkpoints/circle_01-checkpoint.png',
      'circle/deep/.git/x.png',
      'circle/deep/__MACOSX/._y.png',
      'circle/deep/z.png',
      'square/1.png',
      'square/.hidden/only.png',
    ].forEach(file);
    const scan = await scanImageFolder(new LocalObjectStore(root), '');
    expect(scan.files.map((f) => f.key)).toEqual(['circle/circle_01.png', 'circle/deep/z.png', 'square/1.png']);
    expect(['cat/1.png', 'cat/.x/1.png', 'cat/a/__MACOSX/1.png', '.x/1.png', 'cat/._1.png'].map(isFolderImage)).toEqual(
      [true, false, false, false, false],
    );
    // A class whose only images lie in a tool's folder has none.
    rmSync(join(root, 'square/1.png'));
    await expect(scanImageFolder(new LocalObjectStore(root), '')).rejects.toThrow(/class 'square' has no images/);
  });

  it('refuses a single class and an empty class, naming the folder and the class', async () => {
    file('only/a/1.png');
    await expect(scanImageFolder(new LocalObjectStore(root), 'only')).rejects.toThrow(/single class 'a'/);
    file('two/a/1.png');
    mkdirSync(join(root, 'two/empty'));
    const error = await scanImageFolder(new LocalObjectStore(root), 'two').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidImageFolderError);
    expect((error as InvalidImageFolderError).reason).toMatch(/class 'empty' has no images/);
    expect((error as InvalidImageFolderError).folder).toMatch(/two\/$/);
  });

  it.each([
    ['an OSC 52 clipboard write', '\u001b]52;c;cm0gLXJmIH4K\u0007', /U\+001B at position 0/],
    ['a right-to-left override', 'cat\u202egnp.exe', /U\+202E at position 3/],
  ])('refuses a class folder named with %s, naming it escaped', async (_what, className, problem) => {
    [`${className}/1.png`, 'dog/2.png'].forEach(file);
    const error = await scanImageFolder(new LocalObjectStore(root), '').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidImageFolderError);
    const { reason, message } = error as InvalidImageFolderError;
    expect(reason.startsWith(`class folder ${JSON.stringify(className).replace('\u202e', '\\u202e')}: `)).toBe(true);
    expect(reason).toMatch(problem);
    // The message names the folder without carrying the character itself.
    expect(message).not.toMatch(/[\u0000-\u001f\u202e]/);
  });

  it('refuses a class folder whose name holds a backslash, which no object key may hold, naming it', async () => {
    // Was: registered (201), then every run failed for good: `class 'a\\b' has no readable image`.
    ['a\\b/1.png', 'dog/2.png'].forEach(file);
    const store = new LocalObjectStore(root);
    expect((await store.list('')).map((o) => o.key)).toContain('a\\b/1.png'); // the walk lists it...
    await expect(store.get('a\\b/1.png')).rejects.toThrow(/contains "\\"/); // ...and no read takes its key
    const error = await scanImageFolder(store, '').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidImageFolderError);
    expect((error as InvalidImageFolderError).reason).toBe(
      'class folder "a\\\\b": it contains "\\", which no object key may hold: none of its images could be read',
    );
  });

  it('refuses two class folders that are one name spelt two ways in Unicode, naming both', async () => {
    // `café` precomposed (U+00E9) and decomposed (e + U+0301, as HFS+ writes it): two classes that look one.
    ['caf\u00e9/1.png', 'cafe\u0301/2.png', 'tea/3.png'].forEach(file);
    const error = await scanImageFolder(new LocalObjectStore(root), '').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidImageFolderError);
    expect((error as InvalidImageFolderError).reason).toBe(
      // In class order: code point, `e` (U+0065) before `é` (U+00E9).
      'class folders "cafe\u0301" (cafe\\u0301) and "caf\u00e9" (caf\\u00e9) are one name spelt two ways in Unicode ' +
        '(equal once NFC-normalized): rename or merge them',
    );
    // Names that only look alike but differ after NFC (Latin `a`, Cyrillic `а`) are two classes, as before.
    rmSync(join(root, 'cafe\u0301'), { recursive: true });
    ['\u0430/4.png', 'a/5.png'].forEach(file);
    expect((await scanImageFolder(new LocalObjectStore(root), '')).classNames).toEqual([
      'a',
      'caf\u00e9',
      'tea',
      '\u0430',
    ]);
  });

  it('stops a walk past its entry bound with an error naming the setting, and within bounds scans as before', async () => {
    for (let i = 0; i < 30; i++) file(`c${i % 3}/d${i}/${i}.png`);
    const store = new LocalObjectStore(root);
    const error = await scanImageFolder(store, '', { maxFiles: 20, maxMs: 60_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FolderWalkLimitError);
    expect((error as FolderWalkLimitError).message).toMatch(/FOLDER_WALK_MAX_FILES=20/);
    expect((await scanImageFolder(store, '', { maxFiles: 1000, maxMs: 60_000 })).files).toHaveLength(30);
  });

  it('stops a walk past its time bound', async () => {
    for (let i = 0; i < 50; i++) file(`c${i % 2}/${i}.png`);
    const store = new LocalObjectStore(root);
    const realNow = Date.now;
    let clock = realNow();
    // Every look at the clock moves it 10 ms: the 100 ms budget runs out inside the walk.
    const now = jest.spyOn(Date, 'now').mockImplementation(() => (clock += 10));
    try {
      const error = await scanImageFolder(store, '', { maxFiles: 1_000_000, maxMs: 100 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FolderWalkLimitError);
      expect((error as FolderWalkLimitError).limit).toBe('time');
      expect((error as FolderWalkLimitError).message).toMatch(/FOLDER_WALK_MAX_MS=100/);
    } finally {
      now.mockRestore();
    }
  });
});
