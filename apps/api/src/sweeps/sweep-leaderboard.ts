import type { LeaderboardEntry, RunStatus, SweepSpec, SweepValues } from '@trainyard/contracts';
import type { SweepWithRuns } from '@trainyard/db';

/**
 * The runs of a sweep best first by its metric: `test/<field>` reads the run's held-out result
 * (test/accuracy, test/macroF1…), any other name the best value of that metric's summary
 * (val_accuracy, val_loss). Runs without a value (not finished, failed) follow, unranked.
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
  const sign = spec.goal === 'max' ? -1 : 1;
  entries.sort(
    (a, b) =>
      (a.value === null ? 1 : 0) - (b.value === null ? 1 : 0) ||
      sign * ((a.value ?? 0) - (b.value ?? 0)) ||
      a.name.localeCompare(b.name),
  );
  entries.forEach((e, i) => (e.rank = e.value === null ? null : i + 1));
  return entries;
}

function metricValue(result: unknown, summaries: { name: string; best: number }[], metric: string): number | null {
  if (metric.startsWith('test/')) {
    // The field name is the client's (`test/constructor` must not read Object's own members).
    const field = metric.slice('test/'.length);
    const value =
      typeof result === 'object' && result !== null && Object.hasOwn(result, field)
        ? (result as Record<string, unknown>)[field]
        : undefined;
    return typeof value === 'number' && Number.isFinite(value) ? value : null;
  }
  return summaries.find((s) => s.name === metric)?.best ?? null;
}
