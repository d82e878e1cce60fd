import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStore } from '@trainyard/storage';
import sharp from 'sharp';
import { fixtureImage, writeFiles } from './image-folder.fixture';
import { decodeImage, ImageDecodeError, MAX_INPUT_PIXELS } from './image-decode';
import { loadImageFolder } from './image-folder.dataset';

/** A real 10000×10000 picture of one colour: 100 megapixels, yet a PNG of about 300 KB. */
function oversizedPng(): Promise<Buffer> {
  return sharp({ create: { width: 10_000, height: 10_000, channels: 3, background: '#336699' } })
    .png()
    .toBuffer();
}

describe('decodeImage refuses pictures over MAX_INPUT_PIXELS before decoding them', () => {
  let big: Buffer;
  beforeAll(async () => {
    big = await oversizedPng();
  });

  it('is 50 megapixels, far below the 16383×16383 a tiny upload may declare', () => {
    expect(MAX_INPUT_PIXELS).toBe(50_000_000);
    expect(16_383 * 16_383).toBeGreaterThan(MAX_INPUT_PIXELS);
  });

  it('throws an ImageDecodeError naming the size and the limit, without decoding', async () => {
    expect(big.length).toBeLessThan(2 * 1024 * 1024); // small enough to pass any upload check
    const started = Date.now();
    const error = await decodeImage(big, [8, 8, 3], 'cover').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect((error as Error).message).toBe(
      'the image is 10000×10000 (100 megapixels), over the 50 megapixel limit (MAX_INPUT_PIXELS)',
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('still decodes a picture of exactly MAX_INPUT_PIXELS', async () => {
    const atLimit = await sharp({ create: { width: 5000, height: 10_000, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const pixels = await decodeImage(atLimit, [4, 2, 3], 'fill');
    expect(Array.from(pixels)).toEqual(new Array(24).fill(128));
  });

  it('lists an oversized image as skipped in the folder’s data report, and trains on the rest', async () => {
    const root = await mkdtemp(join(tmpdir(), 'trainyard-decode-limit-'));
    try {
      const files: Record<string, Buffer> = { 'cat/huge.png': big };
      for (let i = 0; i < 3; i++) files[`cat/c${i}.png`] = await fixtureImage('png', i);
      for (let i = 0; i < 3; i++) files[`dog/d${i}.png`] = await fixtureImage('png', 10 + i);
      await writeFiles(root, files);
      const d = await loadImageFolder(new LocalObjectStore(root), '', { imageShape: [8, 8, 3], seed: 1 });
      expect(d.skipped).toEqual([
        {
          file: 'cat/huge.png',
          reason:
            'not a readable image: the image is 10000×10000 (100 megapixels), over the 50 megapixel limit (MAX_INPUT_PIXELS)',
        },
      ]);
      expect(d.train.count + d.validation.count + d.test.count).toBe(6);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
