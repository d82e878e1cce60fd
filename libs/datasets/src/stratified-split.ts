import { createHash } from 'node:crypto';
import type { SplitAssignment } from '@trainyard/contracts';
import { deriveSeed, mulberry32, permutation, shuffled } from './prng';

/** Split fractions that leave a class nothing to train on: the same on every attempt, so a run fails for good. */
export class InvalidSplitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSplitError';
  }
}

export interface SplitFractions {
  /** Share of every class held out for validation, 0 ≤ f < 1. */
  validation: number;
  /** Share of every class held out for the final test, 0 ≤ f < 1. */
  test: number;
}

/** An image folder's split: its fractions, and how images are assigned (`'key'` when absent). */
export interface FolderSplit extends SplitFractions {
  assign?: SplitAssignment;
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
 *
 * With `keys` (each item's path in its folder, `cat/001.png`) a class's items are ranked by
 * keyRank and take test first, then validation, then training: an item's part depends on its key
 * and its class's size, not on which other items there are or the order they come in, so adding an
 * image moves at most the images at a boundary, and any listing of the same images splits alike.
 * Without them (`split.assign: 'position'`, runs recorded before keys) items are ranked by one
 * seeded shuffle over their positions, across classes, as those runs were split.
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  fractions: SplitFractions,
  seed: number,
  keys?: readonly string[],
): SplitIndices {
  const { validation: vf, test: tf } = fractions;
  if (!(vf >= 0 && tf >= 0 && vf + tf < 1)) {
    throw new InvalidSplitError(
      `split fractions must be ≥ 0 and leave some training data (validation ${vf} + test ${tf} < 1)`,
    );
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]) ?? [];
    list.push(i);
    byClass.set(labels[i], list);
  }
  const random = mulberry32(deriveSeed(seed, 31));
  const ranks = keys ? Float64Array.from(keys, (key) => keyRank(seed, key)) : undefined;
  const byRank = (a: number, b: number) => ranks![a] - ranks![b] || (keys![a] < keys![b] ? -1 : 1);
  const train: number[] = [];
  const validation: number[] = [];
  const test: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(label) ?? [];
    const order = ranks ? members.sort(byRank) : shuffled(members, random);
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

/**
 * Where an image stands in its class for a key split: the first 48 bits of the sha256 of
 * `<seed>/<key>` (UTF-8), a number. Anyone can recompute it (Python:
 * `int.from_bytes(hashlib.sha256(f"{seed}/{key}".encode()).digest()[:6], "big")`); changing it
 * would move every key-split run's holdouts.
 */
export function keyRank(seed: number, key: string): number {
  return createHash('sha256').update(`${seed}/${key}`).digest().readUIntBE(0, 6);
}
