import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SHAPE_CLASSES } from '@trainyard/contracts';
import { drawShape, mulberry32 } from '@trainyard/datasets';
import sharp from 'sharp';

/**
 * A class-per-folder set of `count` images (`size`×`size` RGB: a random shape on noise, the
 * synthetic-shapes classes), PNG or JPEG (quality 90), so a benchmark decodes real files of a
 * realistic kind. Returns the bytes written.
 */
export async function writeSyntheticImageFolder(
  root: string,
  count: number,
  size: number,
  { format = 'png', seed = 1234 }: { format?: 'png' | 'jpeg'; seed?: number } = {},
): Promise<number> {
  const random = mulberry32(seed);
  const pixels = new Float32Array(size * size * 3);
  const bytes = Buffer.alloc(size * size * 3);
  let total = 0;
  for (const name of SHAPE_CLASSES) await mkdir(join(root, name), { recursive: true });
  for (let i = 0; i < count; i++) {
    const cls = i % SHAPE_CLASSES.length;
    drawShape(pixels, 0, cls, size, 3, 0.15, random);
    for (let p = 0; p < bytes.length; p++) bytes[p] = Math.round(pixels[p] * 255);
    const image = sharp(bytes, { raw: { width: size, height: size, channels: 3 } });
    const file = await (format === 'png' ? image.png() : image.jpeg({ quality: 90 })).toBuffer();
    total += file.length;
    const name = `${String(i).padStart(6, '0')}.${format === 'png' ? 'png' : 'jpg'}`;
    await writeFile(join(root, SHAPE_CLASSES[cls], name), file);
  }
  return total;
}
