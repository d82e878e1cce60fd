import {
  sweepGoal,
  TEST_METRIC_PREFIX,
  type LeaderboardEntry,
  type RunStatus,
  type SweepSpec,
  type SweepValues,
} from '@trainyard/contracts';
import type { SweepWithRuns } from '@trainyard/db';

/** Run names in the order a person reads them: `sweep #4` before `sweep #10`. */
const BY_NAME = new Intl.Collator('en', { numeric: true });

/**
 * The runs of a sweep best first by its metric: `test/<field>` reads the run's held-out result
 * (test/accuracy, test/macroF1…), any other name the best value of that metric's summary
 * (val_accuracy, val_loss), ranked by `sweepGoal`. Only SUCCEEDED runs with a finite value are
 * ranked, equal values sharing a rank (1, 1, 3) and ordered by name; the others (not finished,
 * failed, cancelled, a NaN or infinite value) follow, unranked, with the finite value they have so
 * far, by name (numbers in names compared as numbers: `#4` before `#10`).
 */
export function sweepLeaderboard(sweep: SweepWithRuns, spec: Pick<SweepSpec, 'metric' | 'goal'>): LeaderboardEntry[] {
  const entries = sweep.runs.map((run) => ({
    rank: null as number | null,
    runId: run.id,
    name: run.name,
    status: run.status as RunStatus,
    failureReason: run.failureReason,
    params: (run.sweepParams ?? {}) as SweepValues,
    value: metricValue(run.result, run.summaries, spec.metric),
  }));
  const ranked = (e: (typeof entries)[number]) => e.status === 'SUCCEEDED' && e.value !== null;
  const sign = sweepGoal(spec) === 'max' ? -1 : 1;
  entries.sort(
    (a, b) =>
      Number(ranked(b)) - Number(ranked(a)) ||
      (ranked(a) && ranked(b) ? sign * (a.value! - b.value!) : 0) ||
      BY_NAME.compare(a.name, b.name),
  );
  // Equal values share a rank (1, 1, 3: competition ranking); #4 comes before #10.
  entries.forEach((e, i) => {
    const before = entries[i - 1];
    e.rank = !ranked(e) ? null : before && ranked(before) && before.value === e.value ? before.rank : i + 1;
  });
  return entries;
}

function metricValue(result: unknown, summaries: { name: string; best: number }[], metric: string): number | null {
  if (metric.startsWith(TEST_METRIC_PREFIX)) {
    // The field name is the client's (`test/constructor` must not read Object's own members).
    const field = metric.slice(TEST_METRIC_PREFIX.length);
    const value =
      typeof result === 'object' && result !== null && Object.hasOwn(result, field)
        ? (result as Record<string, unknown>)[field]
        : undefined;
    return typeof value === 'number' && Number.isFinite(value) ? value : null;
  }
  const best = summaries.find((s) => s.name === metric)?.best;
  return typeof best === 'number' && Number.isFinite(best) ? best : null;
}
