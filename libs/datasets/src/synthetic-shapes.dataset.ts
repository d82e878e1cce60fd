import { SHAPE_CLASSES, type SyntheticShapesDatasetSpec } from '@trainyard/contracts';
import { type ImageSplit, type LoadedDataset, type LoadOptions, selectImages } from './dataset.types';
import { deriveSeed, mulberry32, permutation, type Random } from './prng';

// A fixed stream for the test set: it does not move with the run's seed, like MNIST's.
const TEST_SEED = 0x5eed7e57;

type Inside = (dx: number, dy: number, r: number) => boolean;

/** Point-in-shape tests relative to the shape's centre, for a shape of "radius" r. */
const SHAPES: Record<(typeof SHAPE_CLASSES)[number], Inside> = {
  circle: (dx, dy, r) => dx * dx + dy * dy <= r * r,
  square: (dx, dy, r) => Math.abs(dx) <= r * 0.85 && Math.abs(dy) <= r * 0.85,
  // Upward triangle: apex at -r, base at +r; half-width grows linearly towards the base.
  triangle: (dx, dy, r) => dy >= -r && dy <= r && Math.abs(dx) <= ((dy + r) / 2) * 0.95,
  cross: (dx, dy, r) => {
    const arm = Math.max(r * 0.3, 0.75);
    return (Math.abs(dx) <= arm && Math.abs(dy) <= r) || (Math.abs(dy) <= arm && Math.abs(dx) <= r);
  },
};

/** Draws one shape of class `cls` at a random position and size, plus uniform noise. */
export function drawShape(
  out: Float32Array,
  offset: number,
  cls: number,
  size: number,
  channels: number,
  noise: number,
  random: Random,
): void {
  const inside = SHAPES[SHAPE_CLASSES[cls]];
  const r = size * (0.2 + random() * 0.2);
  const cx = r + random() * (size - 2 * r);
  const cy = r + random() * (size - 2 * r);
  const color = Array.from({ length: channels }, () => (channels === 1 ? 0.7 + random() * 0.3 : 0.3 + random() * 0.7));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const hit = inside(x + 0.5 - cx, y + 0.5 - cy, r);
      for (let c = 0; c < channels; c++) {
        const v = (hit ? color[c] : 0) + (random() * 2 - 1) * noise;
        out[offset + (y * size + x) * channels + c] = Math.min(1, Math.max(0, v));
      }
    }
  }
}

function drawSplit(spec: SyntheticShapesDatasetSpec, perClass: number, random: Random): ImageSplit {
  const pixels = spec.imageSize * spec.imageSize * spec.channels;
  const count = perClass * SHAPE_CLASSES.length;
  const images = new Float32Array(count * pixels);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % SHAPE_CLASSES.length;
    drawShape(images, i * pixels, labels[i], spec.imageSize, spec.channels, spec.noise, random);
  }
  return { images, labels, count };
}

/**
 * Procedural shapes. The test split (`testPerClass` per class) comes from a fixed stream; the
 * training pool (`perClass` per class) from the seed; with `labeled`, `labelsPerClass` of each
 * class are kept. The pool is drawn class-interleaved, so keeping the first k per class is
 * already a seeded random choice.
 */
export function loadSyntheticShapes(spec: SyntheticShapesDatasetSpec, opts: LoadOptions): LoadedDataset {
  const perClass =
    opts.labeled && spec.labelsPerClass !== undefined ? Math.min(spec.labelsPerClass, spec.perClass) : spec.perClass;
  // Always draw the full pool first so a labeled subset is a subset of the pretraining pool.
  const pool = drawSplit(spec, spec.perClass, mulberry32(deriveSeed(opts.seed, 11)));
  const pixels = spec.imageSize * spec.imageSize * spec.channels;
  const keep = perClass * SHAPE_CLASSES.length; // interleaved: the first `keep` hold perClass of each
  const order = permutation(keep, mulberry32(deriveSeed(opts.seed, 12)));
  return {
    classNames: [...SHAPE_CLASSES],
    imageShape: [spec.imageSize, spec.imageSize, spec.channels],
    train: selectImages(pool, order, pixels),
    test: drawSplit(spec, spec.testPerClass, mulberry32(TEST_SEED)),
  };
}
