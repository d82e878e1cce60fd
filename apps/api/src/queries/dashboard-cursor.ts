import { InvalidCursorError } from '@trainyard/db';

/** Where a page ended: the sort it belongs to, the last row's sort value (null: run without the metric) and id. */
export interface DashboardCursor {
  sort: string;
  value: string | null;
  id: string;
}

export function encodeDashboardCursor(cursor: DashboardCursor): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.value, cursor.id])).toString('base64url');
}

/** A cursor of another sort (or order) would continue from a meaningless place: refused. */
export function decodeDashboardCursor(text: string, sort: string): DashboardCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(text, 'not a cursor from this API (pass nextCursor as it was returned)');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    typeof parsed[0] !== 'string' ||
    (parsed[1] !== null && typeof parsed[1] !== 'string') ||
    typeof parsed[2] !== 'string' ||
    !/^[0-9a-f-]{36}$/i.test(parsed[2])
  ) {
    throw new InvalidCursorError(text, 'not a cursor from this API (pass nextCursor as it was returned)');
  }
  if (parsed[0] !== sort) throw new InvalidCursorError(text, `it belongs to sort "${parsed[0]}", not "${sort}"`);
  return { sort: parsed[0], value: parsed[1], id: parsed[2] };
}
