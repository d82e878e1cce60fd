import { RUN_LIST_METRIC_SORT, textProblem } from '@trainyard/contracts';
import type { RunListQuery } from '@trainyard/db';
import { z } from 'zod';

/**
 * `sort=createdAt` or `sort=metric:<name>:<best|last|min|max>`, e.g. `metric:val_accuracy:best`.
 * Metric names are free text (whatever a run recorded), so only their shape is checked here.
 */
export const RunListSortSchema = z
  .string()
  .max(250)
  .transform((value, ctx): RunListQuery['sort'] => {
    if (value === 'createdAt') return { by: 'createdAt' };
    const problem = textProblem(value);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    const match = RUN_LIST_METRIC_SORT.exec(value);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: 'Expected "createdAt" or "metric:<name>:<best|last|min|max>"' });
      return z.NEVER;
    }
    return { by: 'metric', metric: match[1]!, stat: match[2] as 'best' | 'last' | 'min' | 'max' };
  });

/**
 * Any 8-4-4-4-12 hex id. PostgreSQL's uuid column accepts every such value, so the API checks
 * the shape only (a malformed id would otherwise surface as a database error, i.e. a 500), and
 * writes it in lowercase, as PostgreSQL does: object keys, BullMQ job ids and the comparisons in
 * the code are case-sensitive, and `DELETE /v1/runs/6F1C…` must remove `runs/6f1c…/` too.
 */
export const RunIdSchema = idSchemaOf('run');
/** A pipeline's and a sweep's ids are run-shaped: a malformed one is named for what it is, not as a run's. */
export const PipelineIdSchema = idSchemaOf('pipeline');
export const SweepIdSchema = idSchemaOf('sweep');

function idSchemaOf(what: 'run' | 'pipeline' | 'sweep') {
  return z.guid({ message: `Expected a ${what} id (a UUID)` }).toLowerCase();
}

/** `Idempotency-Key` header of POST /v1/runs: optional, 1–255 visible ASCII characters (a UUID, say). */
export const IdempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, 'Expected 1 to 255 visible ASCII characters')
  .optional();
