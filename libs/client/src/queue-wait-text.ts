import type { RunQueueView } from '@trainyard/contracts';

/**
 * Where a waiting run stands, in a few words: what holds it back first (its project at its
 * PROJECT_MAX_RUNNING limit), then its place in its class's queue, then who could take it: what a
 * client shows of `GET /v1/runs/:id/queue`. One wording for the CLI and the dashboard (browser-safe:
 * no zod); each joins the parts its own way.
 */
export function queueWaitParts(
  q: Pick<RunQueueView, 'resourceClass' | 'jobState' | 'ahead' | 'servingWorkers' | 'projectLimit'>,
): string[] {
  const parts: string[] = [];
  const limit = q.projectLimit;
  if (limit && limit.running >= limit.limit)
    parts.push(
      `its project ${limit.project} already trains ${limit.running} of the ${limit.limit} runs it may at once (PROJECT_MAX_RUNNING): it starts when one of them ends`,
    );
  const place =
    q.ahead !== null
      ? q.ahead === 0
        ? 'next in line'
        : `${q.ahead} job${q.ahead === 1 ? '' : 's'} ahead`
      : q.jobState === 'delayed'
        ? 'given back for a moment (delayed)'
        : q.jobState === null
          ? 'not in the queue (held by its pipeline, or re-added by the reconciler soon)'
          : `its job is ${q.jobState}`;
  parts.push(`${place} in class ${q.resourceClass}`);
  parts.push(
    q.servingWorkers === 0
      ? 'no live worker serves it yet'
      : `${q.servingWorkers} live worker${q.servingWorkers === 1 ? ' serves' : 's serve'} it`,
  );
  return parts;
}
