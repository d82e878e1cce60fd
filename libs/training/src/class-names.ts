import { quoteText } from '@trainyard/contracts';

/** Where a classifier's classes and a dataset's first part ways, output by output. */
export interface ClassDifference {
  output: number;
  /** The trained class at that output, quoted, or `none`; the same for the dataset's. */
  trained: string;
  dataset: string;
}

/**
 * The first output whose class differs between what a classifier was trained on and a dataset's
 * classes (both in output order), or undefined when they are the same list: a classifier scores
 * an image against its outputs by position, so a renamed, added or removed class shifts them.
 */
export function classDifference(trained: readonly string[], dataset: readonly string[]): ClassDifference | undefined {
  const at = Math.max(trained.length, dataset.length);
  const output = Array.from({ length: at }, (_, i) => i).find((i) => trained[i] !== dataset[i]);
  if (output === undefined) return undefined;
  const name = (names: readonly string[]) => (output < names.length ? quoteText(names[output]!) : 'none');
  return { output, trained: name(trained), dataset: name(dataset) };
}
