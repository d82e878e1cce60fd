import {
  AugmentationSpecSchema,
  augmentBatch,
  drawAugmentation,
  augmentationRandom,
  flipInverse,
  rotationInverse,
  scaleBrightness,
  shearInverse,
  shiftInverse,
  transformImage,
  zoomInverse,
  isIdentityAugmentation,
  applyAugmentation,
} from './index';

const N = 9; // odd, so the centre (4, 4) is a pixel and right angles map pixels onto pixels
const shape = [N, N, 1] as const;

function image(points: [x: number, y: number][], size = N): Float32Array {
  const out = new Float32Array(size * size);
  for (const [x, y] of points) out[y * size + x] = 1;
  return out;
}

/** The lit pixels (value > 0.99) as [x, y], sorted. */
function lit(pixels: Float32Array, size = N): [number, number][] {
  const out: [number, number][] = [];
  pixels.forEach((v, i) => v > 0.99 && out.push([i % size, Math.floor(i / size)]));
  return out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

// An L: a vertical bar at x = 2 (y = 2..6) and a foot along y = 6 (x = 3..4).
const L: [number, number][] = [
  [2, 2],
  [2, 3],
  [2, 4],
  [2, 5],
  [2, 6],
  [3, 6],
  [4, 6],
];
const sorted = (points: [number, number][]) => [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);

describe('single transforms on a known image', () => {
  it('horizontal flip mirrors x about the centre', () => {
    expect(lit(transformImage(image(L), shape, flipInverse(true, false)))).toEqual(
      sorted(L.map(([x, y]) => [N - 1 - x, y])),
    );
  });

  it('90° rotation maps (dx, dy) from the centre to (dy, -dx): counter-clockwise on screen', () => {
    const expected = L.map(([x, y]): [number, number] => [4 + (y - 4), 4 - (x - 4)]);
    expect(lit(transformImage(image(L), shape, rotationInverse(90)))).toEqual(sorted(expected));
    // Four quarter turns are the identity, exactly.
    let m = image(L);
    for (let i = 0; i < 4; i++) m = transformImage(m, shape, rotationInverse(90), 'constant');
    expect(m).toEqual(image(L));
  });

  it('zoom 2× moves a point twice as far from the centre, with bilinear values between', () => {
    const out = transformImage(
      image([
        [4, 4],
        [6, 4],
      ]),
      shape,
      zoomInverse(2, 2),
      'constant',
    );
    expect(lit(out)).toEqual([
      [4, 4],
      [8, 4],
    ]);
    expect(out[4 * N + 7]).toBeCloseTo(0.5, 6); // halfway between input x = 5 (0) and x = 6 (1)
    expect(out[4 * N + 5]).toBeCloseTo(0.5, 6);
  });

  it('shift moves every pixel by (dx, dy)', () => {
    expect(lit(transformImage(image(L), shape, shiftInverse(2, -1), 'constant'))).toEqual(
      sorted(L.map(([x, y]) => [x + 2, y - 1])),
    );
  });

  it('a half-pixel shift averages neighbours (bilinear)', () => {
    const out = transformImage(image([[4, 4]]), shape, shiftInverse(0.5, 0), 'constant');
    expect(out[4 * N + 4]).toBeCloseTo(0.5, 6);
    expect(out[4 * N + 5]).toBeCloseTo(0.5, 6);
  });

  it('45° shear moves each row sideways by its distance below the centre', () => {
    const points: [number, number][] = [
      [4, 2],
      [4, 4],
      [4, 6],
      [1, 7],
    ];
    const expected = points.map(([x, y]): [number, number] => [x + (y - 4), y]);
    expect(lit(transformImage(image(points), shape, shearInverse(45), 'constant'))).toEqual(sorted(expected));
  });

  it('brightness scales pixel values and clips at 1', () => {
    const pixels = Float32Array.from([0, 0.2, 0.5, 0.8]);
    scaleBrightness(pixels, 0, 4, 0.5);
    expect(Array.from(pixels)).toEqual([0, 0.1, 0.25, 0.4].map(Math.fround));
    scaleBrightness(pixels, 0, 4, 3);
    expect(Array.from(pixels)).toEqual([0, Math.fround(0.3), Math.fround(0.75), 1]);
  });

  it("fill 'nearest' repeats the edge, 'constant' uses cval, 'wrap' tiles, 'reflect' mirrors", () => {
    const row = Float32Array.from([0.1, 0.2, 0.3, 0.4]); // a 1×4 image
    const s = [1, 4, 1] as const;
    const shifted = (fill: 'nearest' | 'constant' | 'wrap' | 'reflect') =>
      Array.from(transformImage(row, s, shiftInverse(2, 0), fill, 0.9));
    expect(shifted('nearest')).toEqual([0.1, 0.1, 0.1, 0.2].map(Math.fround));
    expect(shifted('constant')).toEqual([0.9, 0.9, 0.1, 0.2].map(Math.fround));
    expect(shifted('wrap')).toEqual([0.3, 0.4, 0.1, 0.2].map(Math.fround));
    expect(shifted('reflect')).toEqual([0.2, 0.1, 0.1, 0.2].map(Math.fround));
  });
});

describe('augmentation spec and random draws', () => {
  const keras = AugmentationSpecSchema.parse({
    shearRange: 20,
    zoomRange: 0.2,
    horizontalFlip: true,
    rotationRange: 15,
    widthShiftRange: 0.1,
  });

  it('parses a Keras recipe and refuses inverted ranges', () => {
    expect(keras).toMatchObject({ rescale: 1, fillMode: 'nearest', brightnessRange: null, verticalFlip: false });
    expect(isIdentityAugmentation(AugmentationSpecSchema.parse({}))).toBe(true);
    expect(isIdentityAugmentation(keras)).toBe(false);
    expect(AugmentationSpecSchema.safeParse({ zoomRange: [1.2, 0.8] }).success).toBe(false);
    expect(AugmentationSpecSchema.safeParse({ brightness: [1, 2] }).success).toBe(false); // unknown key
  });

  it('draws within the ranges', () => {
    for (let i = 0; i < 200; i++) {
      const p = drawAugmentation(keras, shape, augmentationRandom(1, i));
      expect(Math.abs(p.rotation)).toBeLessThanOrEqual(15);
      expect(Math.abs(p.shear)).toBeLessThanOrEqual(20);
      expect(Math.abs(p.shiftX)).toBeLessThanOrEqual(0.9);
      expect(Math.abs(p.shiftY)).toBe(0);
      expect(p.zoomX).toBeGreaterThanOrEqual(0.8);
      expect(p.zoomX).toBeLessThanOrEqual(1.2);
      expect(p.brightness).toBe(1);
    }
  });

  it('is deterministic for a seed, and enabling one transform leaves the others’ draws alone', () => {
    const images = new Float32Array(5 * N * N).map((_, i) => (i % 7) / 7);
    expect(augmentBatch(images, 5, shape, keras, 11)).toEqual(augmentBatch(images, 5, shape, keras, 11));
    expect(augmentBatch(images, 5, shape, keras, 11)).not.toEqual(augmentBatch(images, 5, shape, keras, 12));
    const withBrightness = { ...keras, brightnessRange: [0.5, 1.5] as [number, number] };
    const a = drawAugmentation(keras, shape, augmentationRandom(3, 0));
    const b = drawAugmentation(withBrightness, shape, augmentationRandom(3, 0));
    expect({ ...b, brightness: 1 }).toEqual(a);
  });

  it('applies rescale after the transforms', () => {
    const spec = AugmentationSpecSchema.parse({ rescale: 2 });
    const out = new Float32Array(N * N);
    applyAugmentation(image(L), 0, out, 0, shape, spec, drawAugmentation(spec, shape, augmentationRandom(0, 0)));
    expect(Math.max(...out)).toBe(2);
  });
});
