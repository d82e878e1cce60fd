import { MAX_IMAGE_FILE_BYTES } from '@trainyard/storage';
import { decideUploadEntry } from './upload-entry';

describe('an entry of an uploaded dataset tar', () => {
  it.each([
    ['cat/1.png', 'cat/1.png', 'cat'],
    ['./cat/1.png', 'cat/1.png', 'cat'],
    ['dog/deeper/inside/2.JPEG', 'dog/deeper/inside/2.JPEG', 'dog'],
    ['chats noirs/été.webp', 'chats noirs/été.webp', 'chats noirs'],
  ])('stores the image %s at %s, an image of class folder %s', (name, path, classFolder) => {
    expect(decideUploadEntry({ name, type: 'file', size: 10 })).toEqual({ action: 'store', path, classFolder });
  });

  it.each([
    [{ name: 'cat/', type: 'directory' }, 'cat'],
    [{ name: './yellow', type: 'directory' }, 'yellow'],
    [{ name: 'cat/empty/', type: 'directory' }, 'cat'],
    [{ name: 'cat/.DS_Store', type: 'file' }, 'cat'],
    [{ name: 'cat/notes.txt', type: 'file' }, 'cat'],
    // macOS's AppleDouble metadata beside an image, in an archive made off a Mac's own disk: no image.
    [{ name: 'cat/._1.png', type: 'file', size: 4096 }, 'cat'],
    [{ name: 'cat/deeper/.hidden.jpg', type: 'file', size: 10 }, 'cat'],
    // In a tool's folder inside the class, at any depth: Jupyter's copy of an image, a resource fork.
    [{ name: 'circle/.ipynb_checkpoints/circle_01-checkpoint.png', type: 'file', size: 10 }, 'circle'],
    [{ name: 'cat/deeper/__MACOSX/1.png', type: 'file', size: 10 }, 'cat'],
    [{ name: 'cat/.git/objects/pack/pack-1.pack', type: 'file', size: MAX_IMAGE_FILE_BYTES + 1 }, 'cat'],
    // No image whatever its size: skipped, not refused as an image over the limit.
    [{ name: 'cat/clip.mp4', type: 'file', size: MAX_IMAGE_FILE_BYTES + 1 }, 'cat'],
  ])('leaves out %j, naming its class folder %s (which must still hold an image)', (header, classFolder) => {
    expect(decideUploadEntry(header)).toEqual({ action: 'skip', classFolder });
  });

  it.each([
    [{ name: './', type: 'directory' }],
    [{ name: 'README.md', type: 'file' }],
    [{ name: 'beside.png', type: 'file' }],
    [{ name: './.DS_Store', type: 'file' }],
  ])('leaves out %j, beside the class folders', (header) => {
    expect(decideUploadEntry(header)).toEqual({ action: 'skip' });
  });

  it.each([
    [{ name: '.git/', type: 'directory' }],
    [{ name: '.git/HEAD', type: 'file', size: 21 }],
    [{ name: './.ipynb_checkpoints/cat/1-checkpoint.png', type: 'file', size: 10 }],
    [{ name: '__MACOSX/red/._1.png', type: 'file', size: 10 }],
    // Judged a tool's folder before its size: a large pack file there is no image over the limit.
    [{ name: '.git/objects/pack/pack-1.pack', type: 'file', size: MAX_IMAGE_FILE_BYTES + 1 }],
  ])("leaves out %j, in a tool's folder (no class, as in a folder scan)", (header) => {
    expect(decideUploadEntry(header)).toEqual({ action: 'skip' });
  });

  it("still refuses a link in a tool's folder", () => {
    expect(decideUploadEntry({ name: '.git/link', type: 'symlink' })).toMatchObject({ action: 'refuse' });
  });

  it.each([
    ['../evil.png', 'file', /"\.\." segment/],
    ['cat/../../evil.png', 'file', /"\.\." segment/],
    ['/etc/cat/1.png', 'file', /starts with "\/"/],
    ['cat//1.png', 'file', /empty path segment/],
    // A backslash is a separator to an extractor on Windows: this one climbs out of the folder.
    ['cat\\..\\1.png', 'file', /"\.\." segment/],
    ['a\\b/1.png', 'file', /contains "\\"/],
    ['\u001b[2J/1.png', 'file', /Control character U\+001B/],
    [`${'c'.repeat(300)}/1.png`, 'file', /longer than 255 bytes/],
    ['cat/1\u0000.png', 'file', /NUL byte/],
    ['cat/link.png', 'symlink', /a symlink, not a plain file/],
    ['cat/hard.png', 'link', /a link, not a plain file/],
    ['cat/dev.png', 'character-device', /not a plain file/],
    ['cat/fifo.png', 'fifo', /not a plain file/],
    [`${'a/'.repeat(17)}1.png`, 'file', /deeper than 16 levels/],
  ])('refuses %j (%s), naming the entry', (name, type, why) => {
    const decision = decideUploadEntry({ name, type, size: 1 });
    expect(decision.action).toBe('refuse');
    expect(decision.action === 'refuse' && decision.reason).toMatch(why);
    expect(decision.action === 'refuse' && decision.reason).toContain('entry "');
  });

  it.each([
    ['cat/a\\b.png', /its name holds "\\"/],
    ['cat/sub\\dir/1.png', /its name holds "\\"/],
    ['cat/\u001b[31m.png', /not text \(control character U\+001B/],
    ['cat/bell\u0007.png', /control character U\+0007/],
    ['cat/del\u007f.png', /control character U\+007F/],
    ['cat/\u202egnp.exe.png', /bidirectional formatting character U\+202E/],
    ['cat/\ud800.png', /lone UTF-16 surrogate/],
    [`cat/${'x'.repeat(300)}.png`, /a name of 304 bytes, over the 255 bytes a file system holds/],
  ])(
    'leaves out and lists the image %j, whose own name no image may have (the rule of a registered folder)',
    (name, why) => {
      const decision = decideUploadEntry({ name, type: 'file', size: 1 });
      expect(decision).toMatchObject({ action: 'skip', classFolder: 'cat', leftOut: { entry: name } });
      expect(decision.action === 'skip' && decision.leftOut?.reason).toMatch(why);
    },
  );

  it('stores both spellings of one name (NFC and NFD café.png): two files, as on every other path', () => {
    const nfc = 'cat/caf\u00e9.png';
    const nfd = 'cat/cafe\u0301.png';
    expect(decideUploadEntry({ name: nfc, type: 'file', size: 1 })).toEqual({
      action: 'store',
      path: nfc,
      classFolder: 'cat',
    });
    expect(decideUploadEntry({ name: nfd, type: 'file', size: 1 })).toEqual({
      action: 'store',
      path: nfd,
      classFolder: 'cat',
    });
  });

  it('refuses an image over the per-file limit from its header, before reading it', () => {
    expect(decideUploadEntry({ name: 'cat/big.png', type: 'file', size: MAX_IMAGE_FILE_BYTES + 1 })).toMatchObject({
      action: 'refuse',
      reason: expect.stringMatching(/over the 67108864-byte limit per image/),
    });
  });
});
