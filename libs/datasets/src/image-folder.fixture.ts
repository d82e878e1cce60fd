import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { ImageSplit } from './dataset.types';

export type FixtureFormat = 'png' | 'jpeg' | 'webp';

/**
 * A small RGB picture whose content is unique to `seed` (so content hashes differ): a solid colour
 * with a lighter square whose position moves with the seed. For tests and the data benchmark.
 */
export async function fixtureImage(format: FixtureFormat, seed: number, width = 20, height = 16): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  const base = [(seed * 47) % 200, (seed * 91) % 200, (seed * 13) % 200];
  const sx = seed % Math.max(1, width - 4);
  const sy = Math.floor(seed / width) % Math.max(1, height - 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inSquare = x >= sx && x < sx + 4 && y >= sy && y < sy + 4;
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = inSquare ? 255 : base[c];
    }
  }
  const image = sharp(data, { raw: { width, height, channels: 3 } });
  // Lossless where the format allows, so tests can predict decoded pixels.
  const encoded =
    format === 'png' ? image.png() : format === 'webp' ? image.webp({ lossless: true }) : image.jpeg({ quality: 95 });
  return encoded.toBuffer();
}

/** Writes `files` (relative path → bytes) under `root`, creating folders. */
export async function writeFiles(root: string, files: Record<string, Buffer>): Promise<void> {
  for (const [path, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), bytes);
  }
}

/** A split's images as `<label>:<sha256 of its pixels>`, sorted: which images it holds, whatever their order. */
export function imageIdentities(split: ImageSplit): string[] {
  const pixels = split.images.length / Math.max(1, split.count);
  return Array.from({ length: split.count }, (_, i) => {
    const bytes = new Uint8Array(split.images.buffer, split.images.byteOffset + i * pixels * 4, pixels * 4);
    return `${split.labels[i]}:${createHash('sha256').update(bytes).digest('hex')}`;
  }).sort();
}
