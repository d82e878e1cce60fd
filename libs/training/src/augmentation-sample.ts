import type { AugmentationSpec } from '@trainyard/contracts';
import { augmentationGrid, type ImageSplit, pixelsPerImage, selectImages } from '@trainyard/datasets';
import { augmentationSampleKey, type ObjectStore } from '@trainyard/storage';

/**
 * Saves a PNG grid (served by the API at GET /v1/runs/:id/augmentation.png) of augmented samples with the run: the first training image of each class
 * (up to 8 rows), the original then 7 draws. Seeded by the training seed, so a resumed attempt
 * writes the same picture again.
 */
export async function saveAugmentationSample(
  store: ObjectStore,
  runId: string,
  train: ImageSplit,
  imageShape: [number, number, number],
  spec: AugmentationSpec,
  seed: number,
): Promise<string> {
  const firstOfClass = new Map<number, number>();
  for (let i = 0; i < train.count && firstOfClass.size < 8; i++)
    if (!firstOfClass.has(train.labels[i])) firstOfClass.set(train.labels[i], i);
  const rows = [...firstOfClass.entries()].sort((a, b) => a[0] - b[0]).map(([, index]) => index);
  const sample = selectImages(train, rows, pixelsPerImage(imageShape));
  const png = await augmentationGrid({ images: sample.images, count: sample.count, imageShape }, spec, seed, 8, {
    rows: rows.length,
  });
  const key = augmentationSampleKey(runId);
  await store.put(key, png);
  return key;
}
