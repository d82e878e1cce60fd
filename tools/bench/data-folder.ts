import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SHAPE_CLASSES } from '@trainyard/contracts';
import { drawShape, mulberry32 } from '@trainyard/datasets';
import sharp from 'sharp';

/**
 * A class-per-folder set of `count` PNGs (`size`×`size` RGB: a random shape on noise, the
 * synthetic-shapes classes), so the benchmark decodes real files of a realistic kind.
 */
export async function writeSyntheticImageFolder(root: string, count: number, size: number): Promise<void> {
  const random = mulberry32(1234);
  const pixels = new Float32Array(size * size * 3);
  const bytes = Buffer.alloc(size * size * 3);
  for (const name of SHAPE_CLASSES) await mkdir(join(root, name), { recursive: true });
  for (let i = 0; i < count; i++) {
    const cls = i % SHAPE_CLASSES.length;
    drawShape(pixels, 0, cls, size, 3, 0.15, random);
    for (let p = 0; p < bytes.length; p++) bytes[p] = Math.round(pixels[p] * 255);
    const png = await sharp(bytes, { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toBuffer();
    await writeFile(join(root, SHAPE_CLASSES[cls], `${String(i).padStart(5, '0')}.png`), png);
  }
}
