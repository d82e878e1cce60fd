/** Display helpers shared by the pages; pure, so they are unit-tested. */
import { queueWaitParts } from '@trainyard/client/browser';
import type { MetricPointView, MetricSummaryView, RunProgress } from '@trainyard/contracts';

/** What a chart's line needs of a metric point (here, below chart.ts and chart-summary.ts, which both use it). */
export type ChartPoint = Pick<MetricPointView, 'step' | 'value'>;

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const hours = Math.floor(m / 60);
  return `${hours}h ${String(m % 60).padStart(2, '0')}m`;
}

/** Wall time of a run: start to end, or to now while it runs. */
export function runDuration(
  run: { startedAt: string | null; endedAt: string | null },
  now = Date.now(),
): number | null {
  if (!run.startedAt) return null;
  return (run.endedAt ? Date.parse(run.endedAt) : now) - Date.parse(run.startedAt);
}

export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return '—';
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(2);
  return Number(value.toPrecision(digits)).toString();
}

export function formatAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  return `${formatDuration(now - Date.parse(iso))} ago`;
}

const KIND_LABELS: Record<string, string> = { PRETRAIN: 'pretrain', FINETUNE: 'fine-tune', EVALUATE: 'evaluation' };

/** How a run kind reads in the UI. */
export function kindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? kind.toLowerCase();
}

/** The metric a run is judged by in lists: validation accuracy for fine-tunes, validation loss for pretrains. */
export function headlineMetric(kind: string): { name: string; label: string } {
  return kind === 'FINETUNE' ? { name: 'val_accuracy', label: 'val acc' } : { name: 'val_loss', label: 'val loss' };
}

/** A metric summary's statistics a run list sorts by. */
export type MetricStat = 'best' | 'last' | 'min' | 'max';

/** Runs one comparison takes: mirrors @trainyard/contracts' COMPARE_MAX_RUNS (the API's 400 beyond). */
export const COMPARE_MAX_RUNS = 20;

/** Mirrors @trainyard/contracts' RUN_LIST_METRIC_SORT (the page does not load the contracts' runtime, which carries zod). */
const METRIC_SORT = /^metric:([^:]+):(best|last|min|max)$/;

/** The metric a run list is sorted by (`metric:test/accuracy:best`), or null when it is not (`createdAt`). */
export function metricSort(sort: string): { name: string; stat: MetricStat } | null {
  const match = METRIC_SORT.exec(sort.trim());
  return match ? { name: match[1]!, stat: match[2] as MetricStat } : null;
}

/**
 * A value a run recorded (a summary's statistic, a progress snapshot's loss): null on the wire is a
 * NaN or ±Infinity (JSON has neither: a diverged run's loss), said as "not finite", never as "—",
 * which says nothing was recorded.
 */
export function formatMeasured(value: number | null | undefined, digits = 4): string {
  return value === null || (value !== undefined && !Number.isFinite(value))
    ? 'not finite'
    : formatNumber(value, digits);
}

/**
 * A run's statistic of metric `name` as the tables show it (the sorted column, a best value): "—"
 * when the run recorded no such metric, "not finite" when it did and the value is NaN or ±Infinity.
 */
export function summaryText(
  summaries: Pick<MetricSummaryView, 'name' | MetricStat>[],
  sort: { name: string; stat: MetricStat },
  digits = 4,
): string {
  const summary = summaries.find((s) => s.name === sort.name);
  return summary ? formatMeasured(summary[sort.stat], digits) : '—';
}

/** Share of the run done, from its progress snapshot (0..1). */
export function progressFraction(
  p: Pick<RunProgress, 'epoch' | 'epochs' | 'step' | 'stepsPerEpoch' | 'phase' | 'totalSteps'> | null,
): number {
  if (p?.phase === 'done') return 1;
  // The budget's own step count when the run knows it (a steps budget ends mid-epoch).
  if (p?.totalSteps) return Math.min(1, Math.max(0, p.step / p.totalSteps));
  if (!p || !p.epochs) return 0;
  const perEpoch = p.stepsPerEpoch > 0 ? (p.step % p.stepsPerEpoch) / p.stepsPerEpoch : 0;
  return Math.min(1, Math.max(0, (Math.max(0, p.epoch - 1) + perEpoch) / p.epochs));
}

/** Index of the row a key press moves to in a table of `count` rows (arrows and j/k, clamped). */
export function moveSelection(key: string, current: number, count: number): number | null {
  if (count === 0) return null;
  if (key === 'ArrowDown' || key === 'j') return current < 0 ? 0 : Math.min(count - 1, current + 1);
  if (key === 'ArrowUp' || key === 'k') return current < 0 ? 0 : Math.max(0, current - 1);
  if (key === 'Home') return 0;
  if (key === 'End') return count - 1;
  return null;
}

/** Merges points into a sorted-by-step series, a later value for the same step replacing the earlier. */
export function mergeByStep(series: ChartPoint[], incoming: ChartPoint[]): ChartPoint[] {
  const byStep = new Map(series.map((p) => [p.step, p.value]));
  for (const p of incoming) byStep.set(p.step, p.value);
  return [...byStep.entries()].sort((a, b) => a[0] - b[0]).map(([step, value]) => ({ step, value }));
}

/** An evaluation's test accuracy from its recorded result (null before it has one, or for other kinds). */
export function testAccuracy(run: { kind: string; result: unknown }): number | null {
  if (run.kind !== 'EVALUATE' || typeof run.result !== 'object' || run.result === null) return null;
  const accuracy = (run.result as Record<string, unknown>)['accuracy'];
  return typeof accuracy === 'number' && Number.isFinite(accuracy) ? accuracy : null;
}

/** Runs by status as "2 succeeded · 1 running" (statuses in the API's order of the record). */
export function countsText(counts: Partial<Record<string, number>>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([status, n]) => `${n} ${status.toLowerCase()}`);
  return parts.length ? parts.join(' · ') : 'no runs';
}

/**
 * A queue's job counts as the fleet page shows them: BullMQ's `waiting` and `prioritized` are one
 * "waiting" (every run's job has a priority, so BullMQ's own `waiting` stays 0), then delayed,
 * active, completed and failed; states nobody acts on (waiting-children) are left out.
 */
export function queueCountsShown(counts: Partial<Record<string, number>>): [string, number][] {
  const n = (state: string) => counts[state] ?? 0;
  return [
    ['waiting', n('waiting') + n('prioritized')],
    ...(['delayed', 'active', 'completed', 'failed'] as const).map((state): [string, number] => [state, n(state)]),
  ];
}

/**
 * Run states as the page tells them apart (the page does not load @trainyard/contracts' runtime,
 * which carries zod: these mirror its TERMINAL_RUN_STATUSES and WAITING_RUN_STATUSES).
 */
const ENDED_STATUSES: readonly string[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];
const WAITING_STATUSES: readonly string[] = ['QUEUED', 'PREEMPTED'];

/** A run that changes no more. */
export function runEnded(status: string): boolean {
  return ENDED_STATUSES.includes(status);
}

/** A run waiting in its queue for a worker. */
export function runWaiting(status: string): boolean {
  return WAITING_STATUSES.includes(status);
}

/** Where a waiting run stands, in a few words: "3 jobs ahead in class gpu · 2 live workers serve it". */
export function queueFacts(q: Parameters<typeof queueWaitParts>[0]): string {
  return queueWaitParts(q).join(' · ');
}

/** Where a value falls on an axis from `min` to `max` (0..1), on a log scale when asked; 0.5 for a flat axis. */
export function axisPosition(value: number, min: number, max: number, log = false): number {
  const [v, lo, hi] = log ? [Math.log10(value), Math.log10(min), Math.log10(max)] : [value, min, max];
  return hi === lo ? 0.5 : (v - lo) / (hi - lo);
}

/**
 * An axis's tick labels, all in one notation: plain numbers ("16", "0.01") when every value reads
 * well so, else all in exponent notation ("3e-4", "1e-2"), never "3.00e-4" beside "0.01".
 */
export function axisLabels(values: number[], digits = 3): string[] {
  const exponent = values.some((v) => v !== 0 && Number.isFinite(v) && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6));
  if (!exponent) return values.map((v) => formatNumber(v, digits));
  return values.map((v) =>
    v === 0 || !Number.isFinite(v) ? formatNumber(v) : Number(v.toPrecision(digits)).toExponential().replace('e+', 'e'),
  );
}

/**
 * How a sweep parameter is plotted: numbers on a linear axis, or a log axis when all are positive
 * and span more than two decades (learning rates); anything else (strings, booleans) as categories.
 */
export function parameterAxis(
  values: unknown[],
): { kind: 'number'; log: boolean; min: number; max: number } | { kind: 'category'; categories: string[] } {
  const numbers = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (numbers.length === values.length && numbers.length > 0) {
    const min = Math.min(...numbers);
    const max = Math.max(...numbers);
    return { kind: 'number', log: min > 0 && max / min > 100, min, max };
  }
  return { kind: 'category', categories: [...new Set(values.map((v) => JSON.stringify(v)))].sort() };
}
