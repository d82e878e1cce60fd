import { type ImageSplit, selectImages } from './dataset.types';
import { deriveSeed, mulberry32, shuffled } from './prng';

export interface ValidationSplit {
  train: ImageSplit;
  validation: ImageSplit;
}

/**
 * Holds out `fraction` of a split for validation, chosen by seed. With `stratified` every class
 * gives the same fraction (rounded per class, so a class too small for it gives none), so a
 * small labeled set keeps its balance. Unstratified, a non-zero fraction holds out at least one
 * image when there are two or more. The validation split may be empty; callers skip it then.
 */
export function splitValidation(
  split: ImageSplit,
  opts: { fraction: number; seed: number; stratified: boolean; pixelsPerImage: number },
): ValidationSplit {
  const random = mulberry32(deriveSeed(opts.seed, 21));
  const groups: number[][] = [];
  if (opts.stratified) {
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < split.count; i++) {
      const list = byClass.get(split.labels[i]) ?? [];
      list.push(i);
      byClass.set(split.labels[i], list);
    }
    groups.push(...[...byClass.keys()].sort((a, b) => a - b).map((c) => byClass.get(c) ?? []));
  } else {
    groups.push(Array.from({ length: split.count }, (_, i) => i));
  }
  const train: number[] = [];
  const validation: number[] = [];
  for (const group of groups) {
    const order = shuffled(group, random);
    let held = Math.round(order.length * opts.fraction);
    if (opts.fraction > 0 && held === 0 && order.length > 1 && !opts.stratified) held = 1;
    validation.push(...order.slice(0, held));
    train.push(...order.slice(held));
  }
  // Keep the dataset's (already shuffled) order inside each part.
  train.sort((a, b) => a - b);
  validation.sort((a, b) => a - b);
  return {
    train: selectImages(split, train, opts.pixelsPerImage),
    validation: selectImages(split, validation, opts.pixelsPerImage),
  };
}
