import sharp from 'sharp';
import { SyntheticShapesDatasetSchema } from '@trainyard/contracts';
import { AugmentationSpecSchema, augmentationGrid, loadDataset } from './index';

describe('augmentationGrid', () => {
  const data = loadDataset(
    SyntheticShapesDatasetSchema.parse({ name: 'synthetic-shapes', imageSize: 32, channels: 3, perClass: 4, noise: 0 }),
    {
      seed: 1,
      labeled: true,
    },
  );
  const spec = AugmentationSpecSchema.parse({
    rotationRange: 30,
    shearRange: 20,
    zoomRange: 0.2,
    horizontalFlip: true,
    widthShiftRange: 0.1,
    brightnessRange: [0.6, 1.3],
  });
  const grid = { images: data.train.images, count: data.train.count, imageShape: data.imageShape };

  it('is a PNG of rows × cols tiles, the first column the originals, reproducible by seed', async () => {
    const png = await augmentationGrid(grid, spec, 7, 5, { rows: 3, minTile: 64 });
    const { data: pixels, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    // 32-pixel tiles with 2-pixel gaps, doubled to reach 64.
    expect([info.width, info.height, info.channels]).toEqual([(5 * 32 + 4 * 2) * 2, (3 * 32 + 2 * 2) * 2, 3]);
    // Top-left pixel of the first tile is the original's (scaled 2×).
    const original = Math.round(data.train.images[0] * 255);
    expect(pixels[0]).toBe(original);
    expect(await augmentationGrid(grid, spec, 7, 5, { rows: 3 })).toEqual(png);
    expect(await augmentationGrid(grid, spec, 8, 5, { rows: 3 })).not.toEqual(png);
    if (process.env.TRAINYARD_GRID_OUT) await sharp(png).toFile(process.env.TRAINYARD_GRID_OUT);
  });
});
