import { CATALOG_LIST_MAX_LIMIT, storedTextProblem } from '@trainyard/contracts';
import { z } from 'zod';
import { InvalidCursorError } from './errors';

/** A page request of a catalog list; `cursor` is the `nextCursor` of the previous page. */
export interface CatalogPageQuery {
  /** Only this project's; undefined for every project (an operator's key). */
  project?: string;
  limit: number;
  cursor?: string;
}

export interface CatalogPage<T> {
  items: T[];
  nextCursor: string | null;
}

/** A page's `limit`, 1 to CATALOG_LIST_MAX_LIMIT: the API's schema refuses others first; a caller inside the fleet gets the same rule. */
export function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > CATALOG_LIST_MAX_LIMIT)
    throw new RangeError(`limit must be a whole number from 1 to ${CATALOG_LIST_MAX_LIMIT}, got ${limit}`);
}

/** Where a newest-first list stopped: the last row's creation time and id (ids break ties). */
export interface CreatedCursor {
  createdAt: Date;
  id: string;
}

/** Where a by-name list stopped: the last model's name and project. */
export interface NameCursor {
  name: string;
  project: string;
}

/**
 * A name or project as the database may hold it: what PostgreSQL's text cannot (NUL), and what no
 * name was ever stored with (control characters, lone surrogates), is a forged cursor, a 400
 * rather than a query that fails. A name stored before the bidirectional controls were refused
 * may hold one: its cursor is the server's own, and pages on.
 */
const CursorText = z
  .string()
  .max(500)
  .refine((value) => storedTextProblem(value) === null);

/**
 * A creation time PostgreSQL's timestamptz holds: ISO 8601 in UTC, from the year 1 (it has no year
 * 0, which `Date` parses) to 9999.
 */
const CursorTime = z.iso.datetime().refine((value) => {
  const year = new Date(value).getUTCFullYear();
  return year >= 1 && year <= 9999;
});

// Each list has its own tag, so a cursor of one list replayed against another is refused.
const CREATED_LISTS = ['pipelines', 'sweeps', 'keys', 'datasets'] as const;
const CreatedSchema = z.strictObject({ k: z.enum(CREATED_LISTS), t: CursorTime, i: z.uuid() });
const NameSchema = z.strictObject({ k: z.literal('models'), n: CursorText, p: CursorText });

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decode<S extends z.ZodType>(raw: string, schema: S, list: string): z.infer<S> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(raw, 'not a cursor returned by this API', list);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw new InvalidCursorError(raw, 'not a cursor returned by this list', list);
  return result.data;
}

export function encodeCreatedCursor(list: (typeof CREATED_LISTS)[number], at: CreatedCursor): string {
  return encode({ k: list, t: at.createdAt.toISOString(), i: at.id });
}

export function decodeCreatedCursor(list: (typeof CREATED_LISTS)[number], raw: string): CreatedCursor {
  const { k, t, i } = decode(raw, CreatedSchema, list);
  if (k !== list) throw new InvalidCursorError(raw, `it belongs to the ${k} list`, list);
  return { createdAt: new Date(t), id: i };
}

export function encodeNameCursor(at: NameCursor): string {
  return encode({ k: 'models', n: at.name, p: at.project });
}

export function decodeNameCursor(raw: string): NameCursor {
  const { n, p } = decode(raw, NameSchema, 'models');
  return { name: n, project: p };
}

/** The Prisma filter of rows after `cursor` in (createdAt desc, id desc) order. */
export function createdBefore(cursor: CreatedCursor | undefined) {
  if (!cursor) return {};
  return {
    OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }],
  };
}

/** Runs by status from a groupBy of (owner, status). */
export function countsByOwner<K extends string>(
  rows: { owner: string | null; status: K; count: number }[],
): Map<string, Partial<Record<K, number>>> {
  const byOwner = new Map<string, Partial<Record<K, number>>>();
  for (const row of rows) {
    if (row.owner === null) continue;
    const counts = byOwner.get(row.owner) ?? (Object.create(null) as Partial<Record<K, number>>);
    counts[row.status] = (counts[row.status] ?? 0) + row.count;
    byOwner.set(row.owner, counts);
  }
  return byOwner;
}
