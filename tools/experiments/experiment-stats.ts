/** Mean and sample standard deviation (n − 1; 0 for a single value). */
export function meanStd(values: number[]): { mean: number; std: number; n: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, std: Math.sqrt(variance), n };
}

/**
 * The first epoch (1-based, as the metrics record it) whose value reaches `threshold`, or null
 * when the run never did. Points may arrive unordered; one point per epoch is expected.
 */
export function epochsToReach(points: { epoch: number; value: number | null }[], threshold: number): number | null {
  // A value the API sends as null was not finite (NaN): it reaches nothing.
  const hit = [...points].sort((a, b) => a.epoch - b.epoch).find((p) => p.value !== null && p.value >= threshold);
  return hit ? hit.epoch : null;
}

/** "3.0 ± 0.5" over the runs that reached it, with "k/n" when some never did. */
export function formatReach(epochs: (number | null)[]): string {
  const reached = epochs.filter((e): e is number => e !== null);
  if (reached.length === 0) return `not reached (0/${epochs.length})`;
  const { mean, std } = meanStd(reached);
  const tail = reached.length < epochs.length ? ` (${reached.length}/${epochs.length} reached)` : '';
  return `${mean.toFixed(1)} ± ${std.toFixed(1)}${tail}`;
}

/**
 * The 0.975 quantile of Student's t with `df` degrees of freedom (two-sided 95 %): exact to three
 * decimals from the table for df ≤ 30, then the Cornish-Fisher expansion around the normal's 1.96
 * (within 0.001 of the exact value beyond 30). A table rather than a statistics dependency: this is
 * the one quantile the report needs.
 */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];
export function studentT975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a positive integer, got ${df}`);
  if (df <= T975.length) return T975[df - 1]!;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2);
}

/**
 * The mean with its two-sided 95 % confidence interval (t-interval: mean ± t(0.975, n − 1) · s / √n);
 * `halfWidth` is NaN with fewer than two values (no interval from one seed).
 */
export function interval95(values: number[]): { mean: number; halfWidth: number; n: number } {
  const { mean, std, n } = meanStd(values);
  return { mean, halfWidth: n > 1 ? (studentT975(n - 1) * std) / Math.sqrt(n) : NaN, n };
}

/**
 * `a − b` paired by key (seed: the same labeled digits, split and head initialization in both
 * arms), with its 95 % interval over the pairs both sides have; the pairing removes the seed's own
 * variance from the comparison.
 */
export function pairedDifference95(
  a: Map<number, number>,
  b: Map<number, number>,
): { mean: number; halfWidth: number; n: number } {
  const differences = [...a].filter(([key]) => b.has(key)).map(([key, value]) => value - b.get(key)!);
  return interval95(differences);
}

/** "0.912 ± 0.013" (the 95 % interval's half-width), "0.912 (n = 1)" without one, "-" with no values. */
export function formatInterval(i: { mean: number; halfWidth: number; n: number }, digits = 3, scale = 1): string {
  if (i.n === 0) return '-';
  const mean = (i.mean * scale).toFixed(digits);
  return Number.isNaN(i.halfWidth) ? `${mean} (n = ${i.n})` : `${mean} ± ${(i.halfWidth * scale).toFixed(digits)}`;
}
