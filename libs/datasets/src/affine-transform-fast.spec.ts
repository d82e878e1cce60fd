import {
  type Affine,
  affineTransform,
  compose,
  rotationInverse,
  shearInverse,
  shiftInverse,
  zoomInverse,
} from './affine-transform';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { affineTransformFast, affineTransformJs } from './affine-transform-fast';
import {
  augmentationKernel,
  reloadAugmentationKernel,
  useWasmAugmentation,
  wasmAugmentationBuilt,
} from './affine-transform-wasm';
import { applyAugmentationToBytes } from './augment-bytes';
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
const kernels = ['wasm-simd', 'js'] as const;

// The specs check the wasm kernel, so it must exist: `npm run build` compiles it; from a fresh
// clone without a build, this compiles it (~1 s) rather than silently testing the JS fallback.
beforeAll(() => {
  if (!wasmAugmentationBuilt())
    execFileSync(process.execPath, [resolve(__dirname, '../assembly/compile.mjs')], { stdio: 'inherit' });
});
afterEach(() => useWasmAugmentation(true));

/** Runs `affineTransformFast` on the kernel named, checking that it is the one that runs. */
function onKernel(kernel: (typeof kernels)[number]): void {
  useWasmAugmentation(kernel === 'wasm-simd');
  expect(augmentationKernel().kernel).toBe(kernel);
}

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
    [10, 7, 5],
    [224, 224, 3],
  ] as ImageShape[]) {
    for (const fill of fills) {
      it(`equals the reference within float rounding, on both kernels: ${shape.join('×')}, fill ${fill}`, () => {
        const src = image(shape, shape[0] * 31 + fills.indexOf(fill));
        for (const [, m] of maps) {
          for (const [brightness, scale] of [
            [1, 1],
            [1.3, 1],
            [0.7, 2],
          ]) {
            const expected = reference(src, shape, m, fill, brightness, scale);
            for (const kernel of kernels) {
              onKernel(kernel);
              const fast = new Float32Array(src.length).fill(NaN);
              affineTransformFast(src, 0, fast, 0, shape, m, fill, 0.25, { brightness, rescale: scale });
              expect(maxDifference(fast, expected)).toBeLessThan(1e-5);
            }
          }
        }
      });
    }
  }

  it.each(kernels)('reads and writes at offsets inside larger buffers, touching nothing else (%s)', (kernel) => {
    onKernel(kernel);
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

describe('the wasm SIMD kernel against the JS pass', () => {
  const spec = (fillMode: FillMode) =>
    AugmentationSpecSchema.parse({
      rotationRange: 40,
      widthShiftRange: 0.3,
      heightShiftRange: 0.25,
      shearRange: 25,
      zoomRange: 0.4,
      horizontalFlip: true,
      verticalFlip: true,
      brightnessRange: [0.5, 1.5],
      rescale: 2,
      fillMode,
      cval: 0.4,
    });

  it('loads here and is the one that runs by default', () => {
    expect(augmentationKernel()).toEqual({
      kernel: 'wasm-simd',
      reason: expect.stringMatching(/affine-resample\.wasm$/),
    });
    useWasmAugmentation(false);
    expect(augmentationKernel().kernel).toBe('js');
  });

  it('runs the JS pass when TRAINYARD_AUGMENT_KERNEL=js, and the kernel again without it', () => {
    const shape: ImageShape = [20, 18, 3];
    const src = image(shape, 4);
    const m = compose(rotationInverse(21), zoomInverse(1.1, 0.9));
    const js = new Float32Array(src.length);
    affineTransformJs(src, 0, js, 0, shape, m, 'wrap', 0, { brightness: 1.2, rescale: 1 });
    const run = () => {
      const out = new Float32Array(src.length);
      affineTransformFast(src, 0, out, 0, shape, m, 'wrap', 0, { brightness: 1.2, rescale: 1 });
      return Buffer.from(out.buffer).equals(Buffer.from(js.buffer));
    };
    try {
      process.env.TRAINYARD_AUGMENT_KERNEL = 'js';
      reloadAugmentationKernel();
      expect(augmentationKernel()).toEqual({ kernel: 'js', reason: 'TRAINYARD_AUGMENT_KERNEL=js' });
      expect(run()).toBe(true);
    } finally {
      delete process.env.TRAINYARD_AUGMENT_KERNEL;
      reloadAugmentationKernel();
    }
    expect(augmentationKernel().kernel).toBe('wasm-simd');
    // The kernel's float32 interpolation is not the JS pass's float64, bit for bit.
    expect(run()).toBe(false);
  });

  for (const fill of fills) {
    it(`gives the JS pass's images within float32 rounding for seeded draws: fill ${fill}`, () => {
      for (const shape of [
        [224, 224, 3],
        [31, 17, 1],
      ] as ImageShape[]) {
        const src = image(shape, 11 + fills.indexOf(fill));
        let biggest = 0;
        for (let draw = 0; draw < 12; draw++) {
          const params = drawAugmentation(spec(fill), shape, augmentationRandom(3, draw));
          const m = augmentationMatrix(params);
          const scaling = { brightness: params.brightness, rescale: 2 };
          const js = new Float32Array(src.length).fill(NaN);
          affineTransformJs(src, 0, js, 0, shape, m, fill, 0.4, scaling);
          onKernel('wasm-simd');
          const wasm = new Float32Array(src.length).fill(NaN);
          affineTransformFast(src, 0, wasm, 0, shape, m, fill, 0.4, scaling);
          const again = new Float32Array(src.length);
          affineTransformFast(src, 0, again, 0, shape, m, fill, 0.4, scaling);
          // Reproducible to the bit; the same image as the JS pass but for float32 rounding.
          expect(Buffer.from(again.buffer).equals(Buffer.from(wasm.buffer))).toBe(true);
          biggest = Math.max(biggest, maxDifference(wasm, js));
        }
        expect(biggest).toBeLessThan(2e-6);
      }
    });
  }

  it.each(kernels)('augments uint8 pixels as their floats divided by 255 (%s)', (kernel) => {
    const shape: ImageShape = [40, 36, 3];
    const random = mulberry32(8);
    const bytes = Uint8Array.from({ length: 40 * 36 * 3 }, () => Math.floor(random() * 256));
    const floats = Float32Array.from(bytes, (v) => v / 255);
    for (const fill of fills) {
      for (let draw = 0; draw < 10; draw++) {
        // Draw 0 of an all-off spec is the identity map (a copy, brightness and rescale only).
        const s = draw === 0 ? AugmentationSpecSchema.parse({ rescale: 0.5, fillMode: fill }) : spec(fill);
        const params = drawAugmentation(s, shape, augmentationRandom(5, draw));
        useWasmAugmentation(false);
        const expected = new Float32Array(floats.length);
        applyAugmentation(floats, 0, expected, 0, shape, s, params);
        onKernel(kernel);
        const out = new Float32Array(2 * floats.length).fill(-1);
        applyAugmentationToBytes(bytes, out, floats.length, shape, s, params, new Float32Array(floats.length));
        expect(out.subarray(0, floats.length).every((v) => v === -1)).toBe(true);
        expect(maxDifference(out.subarray(floats.length), expected)).toBeLessThan(2e-6);
      }
    }
  });
});
