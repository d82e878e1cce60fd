import type { RunQueueView } from '@trainyard/contracts';

/**
 * Where a waiting run stands, in a few words: what holds it back first (its project at its limit,
 * its own or PROJECT_MAX_RUNNING), then its place in its class's queue, then who could take it: what a
 * client shows of `GET /v1/runs/:id/queue`. One wording for the CLI and the dashboard (browser-safe:
 * no zod); each joins the parts its own way.
 */
export function queueWaitParts(
  q: Pick<RunQueueView, 'resourceClass' | 'jobState' | 'ahead' | 'parked' | 'servingWorkers' | 'projectLimit'> &
    Partial<Pick<RunQueueView, 'drainingWorkers'>>,
): string[] {
  const limit = q.projectLimit;
  const atLimit = limit !== null && limit.running >= limit.limit;
  const workers = servingText(q.servingWorkers, q.drainingWorkers ?? 0);
  if (!atLimit) return [place(q, false), workers];
  return [
    `its project ${limit.project} already trains ${limit.running} of the ${limit.limit} runs it may at once (${limit.source === 'project' ? 'its own limit' : 'PROJECT_MAX_RUNNING'}): it starts when one of them ends`,
    place(q, true),
    workers,
  ];
}

/**
 * Who could take it: the live workers of its class, and how many of them are draining or drained
 * (live, so the submit check counts them, but taking nothing until their drain is taken back).
 */
function servingText(serving: number, draining: number): string {
  if (serving === 0) return 'no live worker serves it yet';
  const live = `${serving} live worker${serving === 1 ? ' serves' : 's serve'} it`;
  if (draining === 0) return live;
  if (draining < serving) return `${live}, ${draining} of them draining or drained`;
  const which = serving === 1 ? 'drained or draining' : `${serving === 2 ? 'both' : 'all'} drained or draining`;
  return `${live}, ${which}: it waits until ${serving === 1 ? 'its drain is' : 'a drain is'} taken back or another worker starts`;
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
