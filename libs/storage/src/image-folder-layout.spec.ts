import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidImageFolderError, LocalObjectStore, scanImageFolder } from './index';

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
});
