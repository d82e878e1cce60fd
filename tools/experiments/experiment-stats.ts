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
