import sharp from 'sharp';
import { type AugmentationSpec } from './augmentation.schema';
import { applyAugmentation, augmentationRandom, drawAugmentation } from './augmentation';
import type { ImageShape } from './image-decode';

export interface GridImages {
  /** Row-major `[count, h, w, c]`, pixels in [0, 1]. */
  images: Float32Array;
  count: number;
  imageShape: ImageShape;
}

export interface GridOptions {
  /** Source images shown (one per row); default 6. */
  rows?: number;
  /** Each tile is enlarged (nearest neighbour) to at least this many pixels high; default 64. */
  minTile?: number;
}

const GAP = 2;

/**
 * A PNG preview of what the augmentation does, to save with a run: one source image per row, the
 * original in the first column, then `cols - 1` augmented draws of it (row r, column k uses draw
 * r·cols + k of `seed`, so the grid is reproducible). Pixels are clipped to [0, 1] for display.
 */
export async function augmentationGrid(
  data: GridImages,
  spec: AugmentationSpec,
  seed: number,
  cols = 8,
  opts: GridOptions = {},
): Promise<Buffer> {
  const [h, w, c] = data.imageShape;
  const rows = Math.min(opts.rows ?? 6, data.count);
  if (rows === 0) throw new Error('augmentationGrid needs at least one image');
  const length = h * w * c;
  const width = cols * w + (cols - 1) * GAP;
  const height = rows * h + (rows - 1) * GAP;
  const canvas = Buffer.alloc(width * height * c, 255); // white gaps
  const tile = new Float32Array(length);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < cols; k++) {
      if (k === 0) tile.set(data.images.subarray(r * length, (r + 1) * length));
      else {
        const params = drawAugmentation(spec, data.imageShape, augmentationRandom(seed, r * cols + k));
        applyAugmentation(data.images, r * length, tile, 0, data.imageShape, spec, params);
      }
      const x0 = k * (w + GAP);
      const y0 = r * (h + GAP);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let ch = 0; ch < c; ch++) {
            const v = tile[(y * w + x) * c + ch];
            canvas[((y0 + y) * width + x0 + x) * c + ch] = Math.round(Math.min(1, Math.max(0, v)) * 255);
          }
        }
      }
    }
  }
  const scale = Math.max(1, Math.ceil((opts.minTile ?? 64) / h));
  return sharp(canvas, { raw: { width, height, channels: c as 1 | 3 } })
    .resize(width * scale, height * scale, { kernel: 'nearest' })
    .png()
    .toBuffer();
}
