import { z } from 'zod';
import { InvalidCursorError } from './errors';

/**
 * Opaque keyset cursor for run lists: the last row's sort value and id, plus the sort it belongs
 * to, so a cursor replayed against another sort is refused rather than silently skipping rows.
 * Metric values travel as strings because doubles may be NaN or ±Infinity, which JSON cannot hold.
 */
export interface RunListCursor {
  sort: string;
  value: string | null;
  id: string;
}

const CursorSchema = z.object({
  s: z.string(),
  v: z.string().nullable(),
  i: z.uuid(),
});

export function encodeCursor(cursor: RunListCursor): string {
  return Buffer.from(JSON.stringify({ s: cursor.sort, v: cursor.value, i: cursor.id })).toString('base64url');
}

export function decodeCursor(raw: string, expectedSort: string): RunListCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(raw, 'not a cursor returned by this API');
  }
  const result = CursorSchema.safeParse(parsed);
  if (!result.success) throw new InvalidCursorError(raw, 'not a cursor returned by this API');
  const { s, v, i } = result.data;
  if (s !== expectedSort) throw new InvalidCursorError(raw, `it belongs to sort "${s}", not "${expectedSort}"`);
  return { sort: s, value: v, id: i };
}

/** Sort identity embedded in cursors, e.g. `createdAt:desc` or `metric:val_loss:best:asc`. */
export function sortKey(
  sort: { by: 'createdAt' } | { by: 'metric'; metric: string; stat: string },
  order: 'asc' | 'desc',
): string {
  return sort.by === 'createdAt' ? `createdAt:${order}` : `metric:${sort.metric}:${sort.stat}:${order}`;
}
