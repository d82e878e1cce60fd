import type { RunQueueView } from '@trainyard/contracts';

/**
 * Where a waiting run stands, in a few words: what holds it back first (its project at its limit,
 * its own or PROJECT_MAX_RUNNING), then its place in its class's queue, then who could take it: what a
 * client shows of `GET /v1/runs/:id/queue`. One wording for the CLI and the dashboard (browser-safe:
 * no zod); each joins the parts its own way.
 */
export function queueWaitParts(
  q: Pick<RunQueueView, 'resourceClass' | 'jobState' | 'ahead' | 'parked' | 'servingWorkers' | 'projectLimit'>,
): string[] {
  const limit = q.projectLimit;
  const atLimit = limit !== null && limit.running >= limit.limit;
  const workers =
    q.servingWorkers === 0
      ? 'no live worker serves it yet'
      : `${q.servingWorkers} live worker${q.servingWorkers === 1 ? ' serves' : 's serve'} it`;
  if (!atLimit) return [place(q, false), workers];
  return [
    `its project ${limit.project} already trains ${limit.running} of the ${limit.limit} runs it may at once (${limit.source === 'project' ? 'its own limit' : 'PROJECT_MAX_RUNNING'}): it starts when one of them ends`,
    place(q, true),
    workers,
  ];
}

/** Where its job is in its class's queue: parked (why, unless its project's limit is said before), in line, or elsewhere. */
function place(q: Pick<RunQueueView, 'resourceClass' | 'jobState' | 'ahead' | 'parked'>, limitSaid: boolean): string {
  const inClass = `in class ${q.resourceClass}`;
  if (q.parked)
    return limitSaid
      ? `parked ${inClass}`
      : `parked ${inClass} until a run of its project ends (its project was at its limit)`;
  if (q.ahead === 0) return `next in line ${inClass}`;
  if (q.ahead !== null) return `${q.ahead} job${q.ahead === 1 ? '' : 's'} ahead ${inClass}`;
  if (q.jobState === 'delayed') return `given back for a moment (delayed) ${inClass}`;
  if (q.jobState === null)
    return `not in the queue (held by its pipeline, or re-added by the reconciler soon) ${inClass}`;
  return `its job is ${q.jobState} ${inClass}`;
}
