import {
  type Affine,
  affineTransform,
  compose,
  rotationInverse,
  shearInverse,
  shiftInverse,
  zoomInverse,
} from './affine-transform';
import { affineTransformFast } from './affine-transform-fast';
import {
  applyAugmentation,
  augmentationMatrix,
  augmentationRandom,
  drawAugmentation,
  rescale,
  scaleBrightness,
} from './augmentation';
import { AugmentationSpecSchema, type FillMode } from './augmentation.schema';
import type { ImageShape } from './image-decode';
import { mulberry32 } from './prng';

const fills: FillMode[] = ['nearest', 'constant', 'reflect', 'wrap'];

function image(shape: ImageShape, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, () => random());
}

/** Today's path: the reference resampling, then brightness, then rescale, each a pass of its own. */
function reference(src: Float32Array, shape: ImageShape, m: Affine, fill: FillMode, brightness: number, scale: number) {
  const out = new Float32Array(src.length);
  affineTransform(src, 0, out, 0, shape, m, fill, 0.25);
  scaleBrightness(out, 0, out.length, brightness);
  rescale(out, 0, out.length, scale);
  return out;
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i] - b[i]));
  return most;
}

describe('affineTransformFast', () => {
  const maps: [string, Affine][] = [
    ['rotation', rotationInverse(17)],
    ['right angle', rotationInverse(90)],
    ['shear + zoom', compose(shearInverse(25), zoomInverse(1.3, 0.7))],
    ['large shift (mostly fill)', shiftInverse(9.5, -7.25)],
    ['everything', compose(shiftInverse(2.2, -1.1), compose(rotationInverse(-33), zoomInverse(0.8, 1.2)))],
  ];
  for (const shape of [
    [15, 11, 3],
    [9, 13, 1],
    [224, 224, 3],
  ] as ImageShape[]) {
    for (const fill of fills) {
      it(`equals the reference within float rounding: ${shape.join('×')}, fill ${fill}`, () => {
        const src = image(shape, shape[0] * 31 + fills.indexOf(fill));
        for (const [, m] of maps) {
          for (const [brightness, scale] of [
            [1, 1],
            [1.3, 1],
            [0.7, 2],
          ]) {
            const fast = new Float32Array(src.length).fill(NaN);
            affineTransformFast(src, 0, fast, 0, shape, m, fill, 0.25, { brightness, rescale: scale });
            expect(maxDifference(fast, reference(src, shape, m, fill, brightness, scale))).toBeLessThan(1e-5);
          }
        }
      });
    }
  }

  it('reads and writes at offsets inside larger buffers, touching nothing else', () => {
    const shape: ImageShape = [7, 6, 3];
    const length = 7 * 6 * 3;
    const src = image([21, 6, 3], 5);
    const dst = new Float32Array(3 * length).fill(-1);
    affineTransformFast(src, length, dst, length, shape, rotationInverse(30), 'reflect', 0);
    const alone = reference(src.slice(length, 2 * length), shape, rotationInverse(30), 'reflect', 1, 1);
    expect(maxDifference(dst.subarray(length, 2 * length), alone)).toBeLessThan(1e-6);
    expect(dst.subarray(0, length).every((v) => v === -1)).toBe(true);
    expect(dst.subarray(2 * length).every((v) => v === -1)).toBe(true);
  });
});

describe('applyAugmentation (fast path) against today’s augmentation', () => {
  it('gives the same augmented images as the reference passes for seeded draws', () => {
    const spec = AugmentationSpecSchema.parse({
      rotationRange: 30,
      widthShiftRange: 0.2,
      heightShiftRange: 3,
      shearRange: 20,
      zoomRange: 0.3,
      horizontalFlip: true,
      verticalFlip: true,
      brightnessRange: [0.6, 1.4],
      rescale: 0.5,
      fillMode: 'reflect',
    });
    const shape: ImageShape = [32, 24, 3];
    const src = image(shape, 99);
    for (let draw = 0; draw < 40; draw++) {
      const params = drawAugmentation(spec, shape, augmentationRandom(7, draw));
      const out = new Float32Array(src.length);
      applyAugmentation(src, 0, out, 0, shape, spec, params);
      const expected = reference(
        src,
        shape,
        augmentationMatrix(params),
        spec.fillMode,
        params.brightness,
        spec.rescale,
      );
      // The reference's constant fill is 0.25 here; the spec's cval is 0 but its fill mode is reflect.
      expect(maxDifference(out, expected)).toBeLessThan(1e-5);
    }
  });
});
