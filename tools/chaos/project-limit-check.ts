/** One attempt of a run, as the soak reads it back: when it held a training place of its project. */
export interface AttemptSpan {
  project: string;
  runId: string;
  startMs: number;
  /** null: never closed (counted as open until `untilMs`). */
  endMs: number | null;
}

/**
 * The spans longer than `toleranceMs` in which a project had more runs training (an attempt open)
 * than its limit, one line each; empty when every project kept to it. A run taken over from a
 * killed worker has two attempts open at one instant (the takeover closes the old one as it opens
 * the new): runs are counted, not attempts. Timestamps are each transaction's start, so an attempt
 * opened right after a run of its project ended may seem to start a few milliseconds before that
 * end: the tolerance absorbs it, and a real breach lasts a whole training (seconds).
 */
export function overLimitSpans(
  attempts: readonly AttemptSpan[],
  limitOf: (project: string) => number | undefined,
  toleranceMs: number,
  untilMs: number,
): string[] {
  const byProject = new Map<string, AttemptSpan[]>();
  for (const a of attempts) byProject.set(a.project, [...(byProject.get(a.project) ?? []), a]);
  const breaches: string[] = [];
  for (const [project, spans] of byProject) {
    const limit = limitOf(project);
    if (limit === undefined) continue;
    // Ends before starts at the same instant: a place freed and taken again at once is no breach.
    const events = spans
      .flatMap((s) => [
        { t: s.startMs, delta: 1, runId: s.runId },
        { t: s.endMs ?? untilMs, delta: -1, runId: s.runId },
      ])
      .sort((a, b) => a.t - b.t || a.delta - b.delta);
    const open = new Map<string, number>();
    let breach: { since: number; most: number; runs: Set<string> } | undefined;
    for (const e of events) {
      const n = (open.get(e.runId) ?? 0) + e.delta;
      if (n === 0) open.delete(e.runId);
      else open.set(e.runId, n);
      if (open.size > limit) {
        breach ??= { since: e.t, most: 0, runs: new Set() };
        breach.most = Math.max(breach.most, open.size);
        for (const runId of open.keys()) breach.runs.add(runId);
      } else if (breach) {
        const lasted = e.t - breach.since;
        if (lasted > toleranceMs)
          breaches.push(
            `project ${project} trained ${breach.most} runs at once (limit ${limit}) for ${lasted} ms from ${new Date(breach.since).toISOString()}: ${[...breach.runs].join(', ')}`,
          );
        breach = undefined;
      }
    }
  }
  return breaches;
}
