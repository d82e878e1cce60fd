import { deriveSeed, mulberry32, permutation, shuffled } from './prng';

export interface SplitFractions {
  /** Share of every class held out for validation, 0 ≤ f < 1. */
  validation: number;
  /** Share of every class held out for the final test, 0 ≤ f < 1. */
  test: number;
}

export interface SplitIndices {
  /** Shuffled by seed (the order a first epoch would see). */
  train: number[];
  /** Class by class, ascending: evaluation order does not matter and reads better in reports. */
  validation: number[];
  test: number[];
}

/**
 * Splits items by label into train/validation/test with the same fractions in every class (rounded
 * per class), chosen by seed. Every class keeps at least one training image when it has any, so a
 * tiny class still trains; the holdouts give way first (validation before test).
 */
export function stratifiedSplit(labels: ArrayLike<number>, fractions: SplitFractions, seed: number): SplitIndices {
  const { validation: vf, test: tf } = fractions;
  if (!(vf >= 0 && tf >= 0 && vf + tf < 1)) {
    throw new Error(`split fractions must be ≥ 0 and leave some training data (validation ${vf} + test ${tf} < 1)`);
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]) ?? [];
    list.push(i);
    byClass.set(labels[i], list);
  }
  const random = mulberry32(deriveSeed(seed, 31));
  const train: number[] = [];
  const validation: number[] = [];
  const test: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const order = shuffled(byClass.get(label) ?? [], random);
    const n = order.length;
    let nTest = Math.round(n * tf);
    let nVal = Math.round(n * vf);
    while (n - nTest - nVal < 1 && nVal > 0) nVal--;
    while (n - nTest - nVal < 1 && nTest > 0) nTest--;
    test.push(...order.slice(0, nTest));
    validation.push(...order.slice(nTest, nTest + nVal));
    train.push(...order.slice(nTest + nVal));
  }
  test.sort((a, b) => a - b);
  validation.sort((a, b) => a - b);
  const mix = permutation(train.length, mulberry32(deriveSeed(seed, 32)));
  return { train: Array.from(mix, (i) => train[i]), validation, test };
}
