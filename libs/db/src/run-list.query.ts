import type { RunKind, RunStatus } from '@trainyard/contracts';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import type { MetricSummary, Run, RunListItem } from './model-types';
import { decodeCursor, encodeCursor, sortKey, type RunListCursor } from './run-list-cursor';

export type RunListSort =
  | { by: 'createdAt' }
  | { by: 'metric'; metric: string; stat: 'best' | 'last' | 'min' | 'max' };

export interface RunListQuery {
  status?: RunStatus;
  kind?: RunKind;
  sort: RunListSort;
  order: 'asc' | 'desc';
  /** 1..200 */
  limit: number;
  /** Opaque, from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface RunListPage {
  items: RunListItem[];
  nextCursor: string | null;
}

export const RUN_LIST_MAX_LIMIT = 200;

// Whitelisted column fragments: the stat comes from a query string, so it never reaches SQL as text.
const STAT_COLUMNS = {
  best: Prisma.raw('s."best"'),
  last: Prisma.raw('s."last"'),
  min: Prisma.raw('s."min"'),
  max: Prisma.raw('s."max"'),
} as const;

/**
 * Keyset pagination (never OFFSET): each page continues strictly after the previous page's last
 * (sort value, id), so rows inserted meanwhile neither repeat nor vanish, and ties break on id.
 */
export async function listRuns(prisma: PrismaClient, q: RunListQuery): Promise<RunListPage> {
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > RUN_LIST_MAX_LIMIT) {
    throw new RangeError(`Run list limit must be an integer in 1..${RUN_LIST_MAX_LIMIT}, got ${q.limit}`);
  }
  const key = sortKey(q.sort, q.order);
  const cursor = q.cursor ? decodeCursor(q.cursor, key) : null;
  const page =
    q.sort.by === 'createdAt'
      ? await pageByCreatedAt(prisma, q, cursor)
      : await pageByMetric(prisma, q, q.sort, cursor);

  const hasMore = page.length > q.limit;
  const rows = page.slice(0, q.limit);
  const items = await loadItems(
    prisma,
    rows.map((row) => row.id),
  );
  const last = rows[rows.length - 1];
  return {
    items,
    nextCursor: hasMore && last ? encodeCursor({ sort: key, value: last.value, id: last.id }) : null,
  };
}

interface KeyRow {
  id: string;
  value: string | null;
}

async function pageByCreatedAt(prisma: PrismaClient, q: RunListQuery, cursor: RunListCursor | null): Promise<KeyRow[]> {
  const where: Prisma.RunWhereInput = { status: q.status, kind: q.kind };
  if (cursor) {
    const at = new Date(cursor.value ?? '');
    const op = q.order === 'asc' ? 'gt' : 'lt';
    where.OR = [{ createdAt: { [op]: at } }, { createdAt: at, id: { [op]: cursor.id } }];
  }
  const rows = await prisma.run.findMany({
    where,
    select: { id: true, createdAt: true },
    orderBy: [{ createdAt: q.order }, { id: q.order }],
    take: q.limit + 1,
  });
  return rows.map((row) => ({ id: row.id, value: row.createdAt.toISOString() }));
}

async function pageByMetric(
  prisma: PrismaClient,
  q: RunListQuery,
  sort: Extract<RunListSort, { by: 'metric' }>,
  cursor: RunListCursor | null,
): Promise<KeyRow[]> {
  const col = STAT_COLUMNS[sort.stat];
  if (!col) throw new RangeError(`Unknown metric stat "${String(sort.stat)}" (best, last, min or max)`);
  const dir = Prisma.raw(q.order === 'asc' ? 'ASC' : 'DESC');
  const cmp = Prisma.raw(q.order === 'asc' ? '>' : '<');

  const conditions: Prisma.Sql[] = [];
  if (q.status) conditions.push(Prisma.sql`r."status" = ${q.status}::"RunStatus"`);
  if (q.kind) conditions.push(Prisma.sql`r."kind" = ${q.kind}::"RunKind"`);
  if (cursor) {
    // Runs without the metric sort after every run with it, whatever the order.
    conditions.push(
      cursor.value === null
        ? Prisma.sql`(${col} IS NULL AND r."id" ${cmp} ${cursor.id}::uuid)`
        : Prisma.sql`(${col} IS NULL OR ${col} ${cmp} ${cursor.value}::float8
            OR (${col} = ${cursor.value}::float8 AND r."id" ${cmp} ${cursor.id}::uuid))`,
    );
  }
  const where = conditions.length ? Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}` : Prisma.empty;

  // The value comes back as text: PostgreSQL prints doubles exactly (shortest round-trip form),
  // including NaN and Infinity, and the cursor casts it back the same way.
  return prisma.$queryRaw<KeyRow[]>`
    SELECT r."id"::text AS id, ${col}::text AS value
    FROM "runs" r
    LEFT JOIN "metric_summaries" s ON s."run_id" = r."id" AND s."name" = ${sort.metric}
    ${where}
    ORDER BY (${col} IS NULL), ${col} ${dir}, r."id" ${dir}
    LIMIT ${q.limit + 1}`;
}

async function loadItems(prisma: PrismaClient, ids: string[]): Promise<RunListItem[]> {
  if (ids.length === 0) return [];
  const runs = await prisma.run.findMany({
    where: { id: { in: ids } },
    omit: { spec: true },
    include: { metricSummaries: { orderBy: { name: 'asc' } } },
  });
  const byId = new Map(runs.map((run) => [run.id, run]));
  return ids.flatMap((id) => {
    const run = byId.get(id);
    // A run deleted between the two queries simply drops out of the page.
    return run ? [toListItem(run)] : [];
  });
}

function toListItem(run: Omit<Run, 'spec'> & { metricSummaries: MetricSummary[] }): RunListItem {
  const { metricSummaries, ...rest } = run;
  return { ...rest, summaries: metricSummaries };
}
