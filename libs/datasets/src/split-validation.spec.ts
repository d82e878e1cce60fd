import { type ImageSplit, splitValidation } from './index';

function split(labels: number[]): ImageSplit {
  // One "pixel" per image holding its index, so images can be traced.
  return { images: Float32Array.from(labels, (_, i) => i), labels: Int32Array.from(labels), count: labels.length };
}

describe('splitValidation', () => {
  const data = split([...new Array(20).fill(0), ...new Array(10).fill(1)]);

  it('is stratified, disjoint, complete and deterministic by seed', () => {
    const a = splitValidation(data, { fraction: 0.2, seed: 5, stratified: true, pixelsPerImage: 1 });
    expect(Array.from(a.validation.labels).filter((l) => l === 0)).toHaveLength(4);
    expect(Array.from(a.validation.labels).filter((l) => l === 1)).toHaveLength(2);
    const all = [...a.train.images, ...a.validation.images].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const b = splitValidation(data, { fraction: 0.2, seed: 5, stratified: true, pixelsPerImage: 1 });
    expect(b.validation.images).toEqual(a.validation.images);
    const c = splitValidation(data, { fraction: 0.2, seed: 6, stratified: true, pixelsPerImage: 1 });
    expect(c.validation.images).not.toEqual(a.validation.images);
  });

  it('holds out nothing for fraction 0 and at least one image unstratified', () => {
    expect(splitValidation(data, { fraction: 0, seed: 1, stratified: false, pixelsPerImage: 1 }).validation.count).toBe(
      0,
    );
    expect(
      splitValidation(split([0, 1, 2]), { fraction: 0.01, seed: 1, stratified: false, pixelsPerImage: 1 }).validation
        .count,
    ).toBe(1);
  });
});
