import type { RunQueueView } from '@trainyard/contracts';

/**
 * Where a waiting run stands, in a few words: what holds it back first (its project at its
 * PROJECT_MAX_RUNNING limit), then its place in its class's queue, then who could take it: what a
 * client shows of `GET /v1/runs/:id/queue`. One wording for the CLI and the dashboard (browser-safe:
 * no zod); each joins the parts its own way.
 */
export function queueWaitParts(
  q: Pick<RunQueueView, 'resourceClass' | 'jobState' | 'ahead' | 'parked' | 'servingWorkers' | 'projectLimit'>,
): string[] {
  const parts: string[] = [];
  const limit = q.projectLimit;
  const atLimit = limit !== null && limit.running >= limit.limit;
  if (atLimit)
    parts.push(
      `its project ${limit.project} already trains ${limit.running} of the ${limit.limit} runs it may at once (PROJECT_MAX_RUNNING): it starts when one of them ends`,
    );
  const inClass = `in class ${q.resourceClass}`;
  parts.push(
    q.parked
      ? atLimit
        ? `parked ${inClass}`
        : `parked ${inClass} until a run of its project ends (its project was at PROJECT_MAX_RUNNING)`
      : q.ahead !== null
        ? `${q.ahead === 0 ? 'next in line' : `${q.ahead} job${q.ahead === 1 ? '' : 's'} ahead`} ${inClass}`
        : q.jobState === 'delayed'
          ? `given back for a moment (delayed) ${inClass}`
          : q.jobState === null
            ? `not in the queue (held by its pipeline, or re-added by the reconciler soon) ${inClass}`
            : `its job is ${q.jobState} ${inClass}`,
  );
  parts.push(
    q.servingWorkers === 0
      ? 'no live worker serves it yet'
      : `${q.servingWorkers} live worker${q.servingWorkers === 1 ? ' serves' : 's serve'} it`,
  );
  return parts;
}
