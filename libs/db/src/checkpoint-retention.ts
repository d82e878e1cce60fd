import { metricGoal } from './metric-goal';

export interface RetainedCheckpoint {
  id: string;
  sequence: number;
  metricName: string | null;
  metricValue: number | null;
}

/**
 * Which of a run's COMPLETE checkpoints may go: every one but the newest `keepLast`, the best
 * by the metric each was judged by (per metric name, lower is better for losses), and the pinned
 * ones (a fine-tune's base). NaN is never best. Input in any order; output by sequence.
 */
export function retentionVictims<C extends RetainedCheckpoint>(checkpoints: C[], keepLast: number, pinned: ReadonlySet<string>): C[] {
  const bySequence = [...checkpoints].sort((a, b) => a.sequence - b.sequence);
  const keep = new Set(bySequence.slice(Math.max(0, bySequence.length - Math.max(1, keepLast))).map((c) => c.id));
  for (const id of pinned) keep.add(id);
  const best = new Map<string, C>();
  for (const c of bySequence) {
    if (c.metricName === null || c.metricValue === null || Number.isNaN(c.metricValue)) continue;
    const current = best.get(c.metricName);
    const lower = metricGoal(c.metricName) === 'min';
    if (!current || (lower ? c.metricValue < current.metricValue! : c.metricValue > current.metricValue!)) best.set(c.metricName, c);
  }
  for (const c of best.values()) keep.add(c.id);
  return bySequence.filter((c) => !keep.has(c.id));
}
