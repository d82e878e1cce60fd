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

/**
 * A double as a metric cursor carries it: PostgreSQL's text of a float8 (the shortest digits that
 * read back to the same double; `1e-05` and `1e+15` beyond 0.0001..1e15, plain digits within),
 * `NaN`, `Infinity`, `-Infinity`. Negative zero is `0`: PostgreSQL prints it `-0` but orders and
 * compares it as 0, and the metric writers never store it (values travel as JavaScript's text,
 * which is `0` for it). The only spelling decodeCursor takes for a metric sort.
 */
export function metricCursorValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (n === 0) return '0';
  const [mantissa, exponent] = n.toExponential().split('e') as [string, string];
  const e = Number(exponent);
  // JavaScript writes plain digits from 1e-7 to 1e21, PostgreSQL from 1e-4 below 1e15; the digits agree.
  if (e >= -4 && e < 15) return String(n);
  return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

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
  // A metric value spelled otherwise (`1e3`, `-0`, `0x10`, ` 1`, `1e999`) was never written by
  // this API: the page after it would start from a position nobody was given.
  if (s.startsWith('metric:') && v !== null && v !== metricCursorValue(Number(v)))
    throw new InvalidCursorError(raw, 'not a cursor returned by this API');
  return { sort: s, value: v, id: i };
}

/** Sort identity embedded in cursors, e.g. `createdAt:desc` or `metric:val_loss:best:asc`. */
export function sortKey(
  sort: { by: 'createdAt' } | { by: 'metric'; metric: string; stat: string },
  order: 'asc' | 'desc',
): string {
  return sort.by === 'createdAt' ? `createdAt:${order}` : `metric:${sort.metric}:${sort.stat}:${order}`;
}
