import { decimalInt } from '@trainyard/contracts';
import { z } from 'zod';

export const RUN_LOG_DEFAULT_LIMIT = 200;
export const RUN_LOG_MAX_LIMIT = 1000;

/**
 * Where a reader of a run's log stands: in chunk `<attempt>-<sequence>`, `offset` bytes in. A
 * chunk only ever grows, so the offset stays valid while it is written.
 */
export interface RunLogCursor {
  attempt: number;
  sequence: number;
  offset: number;
}

/** Each number as DECIMAL_DIGITS spells it (no leading zero), so one place in a log has one cursor. */
const CURSOR = /^(0|[1-9][0-9]{0,8})-(0|[1-9][0-9]{0,8})-(0|[1-9][0-9]{0,9})$/;

export function formatRunLogCursor(cursor: RunLogCursor): string {
  return `${cursor.attempt}-${cursor.sequence}-${cursor.offset}`;
}

/** `<attempt>-<sequence>-<offset>`, digits only: the `next` of an earlier page, or an SSE event id. */
export const RunLogCursorSchema = z
  .string()
  .max(40)
  .regex(CURSOR, 'Expected the `next` of an earlier page (<attempt>-<chunk>-<offset>)')
  .transform((value): RunLogCursor => {
    const [, attempt, sequence, offset] = CURSOR.exec(value)!;
    return { attempt: Number(attempt), sequence: Number(sequence), offset: Number(offset) };
  });

/** Query of `GET /v1/runs/:id/logs`; anything else is refused, naming the parameter. */
export const RunLogQuerySchema = z.strictObject({
  after: RunLogCursorSchema.optional(),
  limit: decimalInt({ min: 1, max: RUN_LOG_MAX_LIMIT }).default(RUN_LOG_DEFAULT_LIMIT),
  /** Only this attempt's lines. */
  attempt: decimalInt({ min: 1, max: 1_000_000, what: 'an attempt number (1, 2, …)' }).optional(),
  /** `true`: a server-sent event stream that follows the log until the run ends. */
  follow: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .default(false),
});
export type RunLogQuery = z.output<typeof RunLogQuerySchema>;
