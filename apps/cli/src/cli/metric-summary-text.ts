import type { MetricSummaryView } from '@trainyard/contracts';
import { warn, type CommandContext } from './command';

/** A metric summary's `which` value of the run's metric `name`, or null when the run has no such metric. */
export function summaryValue(
  summaries: MetricSummaryView[],
  name: string,
  which: 'best' | 'last' | 'min' | 'max',
): number | null {
  const summary = summaries.find((s) => s.name === name);
  return summary ? (summary[which] as number | null) : null;
}

/** A metric value for a table cell: `-` for none, 4 decimals unless whole or large. */
export function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  return Math.abs(value) >= 1000 || value === Math.round(value) ? String(value) : value.toFixed(4);
}

/**
 * Says on stderr which of `names` no run in `runs` has a metric summary of, and the metrics they
 * do have: a typo (`val_acc`) otherwise shows only as empty columns or no rows. `absent` words it
 * for the command. Nothing for no runs: there is nothing to tell from.
 */
export function warnAbsentMetrics(
  ctx: CommandContext,
  names: string[],
  runs: { summaries: MetricSummaryView[] }[],
  absent: (name: string) => string,
): void {
  const present = new Set(runs.flatMap((r) => r.summaries.map((s) => s.name)));
  warnAbsentMetricNames(ctx, names, present, runs.length, absent);
}

/** warnAbsentMetrics from what it needs of the runs: the metric names they have, and how many they are. */
export function warnAbsentMetricNames(
  ctx: CommandContext,
  names: string[],
  metrics: ReadonlySet<string>,
  runCount: number,
  absent: (name: string) => string,
): void {
  if (runCount === 0) return;
  const present = [...metrics].sort();
  const own = runCount === 1 ? 'its' : 'their';
  const offer = present.length
    ? `${own} metrics: ${present.join(', ')}`
    : `${own === 'its' ? 'it has' : 'they have'} none`;
  for (const name of names.filter((n) => !present.includes(n))) warn(ctx, `${absent(name)} (${offer})`);
}
