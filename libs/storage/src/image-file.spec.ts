import {
  IMAGE_SIGNATURE_BYTES,
  imageFileTooLarge,
  imageNameProblem,
  MAX_IMAGE_FILE_BYTES,
  notAnImage,
  sniffImageType,
} from './index';

/** The first bytes of each format, as their encoders write them (sharp's output for the images). */
const HEADS = {
  png: Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'),
  jpeg: Buffer.from('ffd8ffe000104a4649460001', 'hex'),
  webp: Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x24, 0, 0, 0]), Buffer.from('WEBPVP8L')]),
  tiff: Buffer.from('49492a0036000000ffd8ffc0', 'hex'),
  gif: Buffer.from('GIF89a\x08\x00\x08\x00\x80\x00', 'latin1'),
  avif: Buffer.from('0000001c6674797061766966', 'hex'),
  svg: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'),
  riffWave: Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x24, 0, 0, 0]), Buffer.from('WAVEfmt ')]),
};

describe('what a file must be to be an image of a dataset', () => {
  it('caps an image at 64 MiB, the bound an upload refuses past', () => {
    expect(MAX_IMAGE_FILE_BYTES).toBe(64 * 1024 * 1024);
    expect(imageFileTooLarge(MAX_IMAGE_FILE_BYTES)).toBeNull();
    expect(imageFileTooLarge(1_258_291_200)).toBe(
      'the file is 1258291200 bytes, over the 67108864-byte (64 MiB) limit per image (MAX_IMAGE_FILE_BYTES)',
    );
  });

  it('knows PNG, JPEG and WebP by their signature, whatever the name', () => {
    expect(IMAGE_SIGNATURE_BYTES).toBe(12);
    expect(sniffImageType(HEADS.png)).toBe('image/png');
    expect(sniffImageType(HEADS.jpeg)).toBe('image/jpeg');
    expect(sniffImageType(HEADS.webp)).toBe('image/webp');
    expect(sniffImageType(new Uint8Array(HEADS.png))).toBe('image/png');
  });

  it.each(['tiff', 'gif', 'avif', 'svg', 'riffWave'] as const)(
    'takes %s for no image, though sharp would decode (or render) it',
    (format) => {
      expect(sniffImageType(HEADS[format])).toBeNull();
      expect(notAnImage(HEADS[format])).toMatch(/^not a PNG, JPEG or WebP image \(it starts with [0-9a-f ]{23}\)$/);
    },
  );

  it('says what a file starts with, as an upload lists it', () => {
    expect(notAnImage(Buffer.from('<!DOCTYPE html>'))).toBe(
      'not a PNG, JPEG or WebP image (it starts with 3c 21 44 4f 43 54 59 50)',
    );
    expect(notAnImage(Buffer.alloc(0))).toBe('an empty file');
    expect(notAnImage(HEADS.jpeg.subarray(0, 3))).toBeNull();
    expect(notAnImage(HEADS.png.subarray(0, 7))).toMatch(/^not a PNG/); // cut inside the signature
  });
});

describe('imageNameProblem: one rule for an image file name, on every path', () => {
  it.each([
    ['cat/a\\b.png', 'its name holds "\\" (a folder separator on Windows), which no object key may hold'],
    ['cat/sub\\dir/1.png', 'its name holds "\\" (a folder separator on Windows), which no object key may hold'],
    [
      'cat/\u001b[2J.png',
      'its name below the class folder is not text (control character U+001B at position 0 is not allowed)',
    ],
    [
      'cat/tab\t.png',
      'its name below the class folder is not text (control character U+0009 at position 3 is not allowed)',
    ],
    [
      'cat/\u202egnp.exe.png',
      'its name below the class folder is not text (bidirectional formatting character U+202E at position 0 is not allowed)',
    ],
    ['cat/../dog/1.png', 'its path holds a ".." segment, which no object key may hold'],
    ['cat/./1.png', 'its path holds a "." segment, which no object key may hold'],
    ['cat//1.png', 'its path holds an empty segment ("//"), which no object key may hold'],
    [`cat/${'é'.repeat(150)}.png`, 'a name of 304 bytes, over the 255 bytes a file system holds'],
    [`cat/${'x'.repeat(300)}.png`, 'a name of 304 bytes, over the 255 bytes a file system holds'],
  ])('%j: %s', (path, reason) => {
    expect(imageNameProblem(path)).toBe(reason);
  });

  it.each([
    'cat/1.png',
    'cat/a..b.png',
    'cat/caf\u00e9.png',
    'cat/cafe\u0301.png',
    'cat/\u05e9\u05dc\u05d5\u05dd \u200f.png',
    'cat/👩‍👩‍👧.png',
    `cat/${'x'.repeat(251)}.png`,
  ])('%j is a name an image may have', (path) => {
    expect(imageNameProblem(path)).toBeNull();
  });

  it('judges only what lies below the class folder (a class folder has rules of its own)', () => {
    expect(imageNameProblem('a\\b/1.png')).toBeNull();
  });
});
