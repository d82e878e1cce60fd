import {
  RUN_ID_PREFIX,
  RUN_LIST_MAX_LIMIT,
  isForbiddenKey,
  type RunKind,
  type RunListItemView,
  type RunListPage,
  type RunStatus,
} from '@trainyard/contracts';
import { InvalidCursorError } from './errors';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import { decodeCursor, encodeCursor, metricCursorValue, sortKey, type RunListCursor } from './run-list-cursor';
import { runListItemView } from './views';

export type RunListSort = { by: 'createdAt' } | { by: 'metric'; metric: string; stat: 'best' | 'last' | 'min' | 'max' };

/** A scalar a spec field must equal: `{ path: ['training', 'learningRate'], value: 0.001 }`. */
export type SpecValue = string | number | boolean | null;
export interface SpecFilter {
  path: string[];
  value: SpecValue;
}

export interface RunListQuery {
  /** One project's runs; every project's when undefined. */
  project?: string;
  status?: RunStatus;
  kind?: RunKind;
  /** Lowercase hex digits a run id starts with (RUN_ID_PREFIX): `trainyard show 1a2b3c4d`. */
  idPrefix?: string;
  /** Case-insensitive substring of the run name. */
  search?: string;
  /** Equality filters on spec fields, all of which must hold. */
  spec?: SpecFilter[];
  /** Runs carrying every one of these tags. */
  tags?: string[];
  /** Archived runs: left out (`false`, the default), only them (`true`), or both (`any`). */
  archived?: boolean | 'any';
  sort: RunListSort;
  order: 'asc' | 'desc';
  /** 1..200 */
  limit: number;
  /** Opaque, from a previous page's `nextCursor`. */
  cursor?: string;
}

// Whitelisted column fragments: the stat comes from a query string, so it never reaches SQL as text.
const STAT_COLUMNS = {
  best: Prisma.raw('s."best"'),
  last: Prisma.raw('s."last"'),
  min: Prisma.raw('s."min"'),
  max: Prisma.raw('s."max"'),
} as const;

interface KeyRow {
  id: string;
  /** The sort value as PostgreSQL prints it (doubles exactly, NaN and Infinity included); null: no metric. */
  value: string | null;
}

/**
 * Keyset pagination (never OFFSET) over runs, filtered by status, kind, name and spec fields:
 * each page continues strictly after the previous page's last (sort value, id), so rows inserted
 * meanwhile neither repeat nor vanish. A metric sort walks metric_summaries in the order of its
 * (name, stat, run_id) index and joins each run by primary key, stopping after `limit + 1` rows,
 * so a 200,000-run history costs the same as a small one; runs that never recorded the metric
 * follow, by id, in a second phase. A filtered metric page (`pageOfMetricRuns`) and a tag
 * filter's page (`pageByTimeWithTags`) are found by a bounded walk, or from the filter's own
 * indexes when the walk finds too few.
 */
export async function listRuns(prisma: PrismaClient, q: RunListQuery): Promise<RunListPage> {
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > RUN_LIST_MAX_LIMIT) {
    throw new RangeError(`Run list limit must be an integer in 1..${RUN_LIST_MAX_LIMIT}, got ${q.limit}`);
  }
  if (q.sort.by === 'metric' && !(q.sort.stat in STAT_COLUMNS)) {
    throw new RangeError(`Unknown metric stat "${String(q.sort.stat)}" (best, last, min or max)`);
  }
  const key = sortKey(q.sort, q.order);
  const cursor = q.cursor ? checkedCursor(decodeCursor(q.cursor, key), q.sort, q.cursor) : null;
  const filters = runFilters(q);
  const tags = tagFilter(q);
  const dir = Prisma.raw(q.order === 'asc' ? 'ASC' : 'DESC');
  const cmp = Prisma.raw(q.order === 'asc' ? '>' : '<');

  let rows: KeyRow[];
  if (q.sort.by === 'createdAt') {
    const after = cursor
      ? [Prisma.sql`(r."created_at", r."id") ${cmp} (${cursor.value}::timestamptz, ${cursor.id}::uuid)`]
      : [];
    rows = tags
      ? await pageByTimeWithTags(prisma, q.limit, [...filters, ...after], tags, dir)
      : await prisma.$queryRaw<KeyRow[]>`
      SELECT r."id"::text AS id, r."created_at"::text AS value FROM "runs" r
      ${where([...filters, ...after])}
      ORDER BY r."created_at" ${dir}, r."id" ${dir} LIMIT ${q.limit + 1}`;
  } else {
    rows = await pageByMetric(prisma, {
      q,
      sort: q.sort,
      filters: tags ? [...filters, tags] : filters,
      cursor,
      dir,
      cmp,
    });
  }

  const hasMore = rows.length > q.limit;
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    items: await loadRunListItems(
      prisma,
      page.map((row) => row.id),
    ),
    nextCursor:
      hasMore && last ? encodeCursor({ sort: key, value: cursorValue(q.sort, last.value), id: last.id }) : null,
  };
}

/** The last row's sort value as its cursor carries it: a time as PostgreSQL prints it, a double spelled by `metricCursorValue`. */
function cursorValue(sort: RunListSort, value: string | null): string | null {
  return sort.by === 'metric' && value !== null ? metricCursorValue(Number(value)) : value;
}

/**
 * Rows a tag-filtered page walks in creation order, per row of the page, before it asks the tags'
 * index instead: the walk finds a page of tags one run in 40 carries, and the index lists the
 * runs of rarer ones (at most one in 40, so a bounded share of the history).
 */
export const TAG_WALK_ROWS_PER_ROW = 40;

/**
 * A page of runs carrying every tag of `tags`, newest (or oldest) first. PostgreSQL cannot
 * estimate how many runs carry several tags (it multiplies their frequencies) nor how tags follow
 * projects, so the planner's choice was a walk in creation order that read the whole history when
 * no run had them all (`tag=ablation&tag=v2`: 200,000 rows, 130–250 ms). One statement, two
 * bounded ways: walk at most `TAG_WALK_ROWS_PER_ROW` rows per row of the page, in page order,
 * keeping those with the tags (it stops once the page is full, as the plain query does); only when
 * that found too few and the walk did not reach the end of the list (counted again, which is
 * cheaper than materializing the walk for every page), the runs with the tags are read from the
 * tags' GIN index (a materialized CTE, so the page's ORDER BY and LIMIT cannot lead the planner
 * back to the walk) and sorted. The gates are one-time filters: the branch not taken never runs.
 * Same rows, same order as the one query they replace.
 */
async function pageByTimeWithTags(
  prisma: PrismaClient,
  limit: number,
  filters: Prisma.Sql[],
  tags: Prisma.Sql,
  dir: Prisma.Sql,
): Promise<KeyRow[]> {
  const walked = (limit + 1) * TAG_WALK_ROWS_PER_ROW;
  return prisma.$queryRaw<KeyRow[]>`
    WITH "found" AS (
      SELECT w."id", w."created_at" FROM (
        SELECT r."id", r."created_at", ${tags} AS "has_tags" FROM "runs" r ${where(filters)}
        ORDER BY r."created_at" ${dir}, r."id" ${dir} LIMIT ${walked}
      ) w WHERE w."has_tags" ORDER BY w."created_at" ${dir}, w."id" ${dir} LIMIT ${limit + 1}
    ), "walk_answers" AS (
      SELECT (SELECT count(*) FROM "found") > ${limit} OR (SELECT count(*) FROM (
        SELECT 1 FROM "runs" r ${where(filters)} ORDER BY r."created_at" ${dir}, r."id" ${dir} LIMIT ${walked}
      ) w) < ${walked} AS "yes"
    ), "tagged" AS MATERIALIZED (
      SELECT r."id", r."created_at" FROM "runs" r ${where([...filters, tags])}
    )
    SELECT p."id"::text AS id, p."created_at"::text AS value FROM (
      SELECT f."id", f."created_at" FROM "found" f WHERE (SELECT "yes" FROM "walk_answers")
      UNION ALL
      (SELECT t."id", t."created_at" FROM "tagged" t WHERE NOT (SELECT "yes" FROM "walk_answers")
        ORDER BY t."created_at" ${dir}, t."id" ${dir} LIMIT ${limit + 1})
    ) p
    ORDER BY p."created_at" ${dir}, p."id" ${dir}`;
}

/**
 * Summaries of the metric a filtered page walks in its order, per row of the page, before it reads
 * the filter's runs from their own index instead: the walk finds a page of a filter one run in 40
 * of the metric's matches, and the filter's runs are read only when fewer of them have the metric.
 */
export const METRIC_WALK_ROWS_PER_ROW = 40;

/** A page of the run list sorted by a metric, as pageByMetric and pageOfMetricRuns read it. */
interface MetricSortedPage {
  q: RunListQuery;
  sort: Extract<RunListSort, { by: 'metric' }>;
  /** Every filter of the list as a condition on `r` (runs), the tags' included. */
  filters: Prisma.Sql[];
  /** Where the page resumes: after this (value, id); null for the first page. */
  cursor: RunListCursor | null;
  /** `ASC` or `DESC`, and the comparison that goes past the cursor that way (`>` or `<`). */
  dir: Prisma.Sql;
  cmp: Prisma.Sql;
}

async function pageByMetric(prisma: PrismaClient, page: MetricSortedPage): Promise<KeyRow[]> {
  const { q, sort, filters, cursor, cmp, dir } = page;
  const { limit } = q;
  const rows: KeyRow[] = [];
  // Phase 1: runs with the metric, in the order of its value (ties by id).
  if (!cursor || cursor.value !== null) rows.push(...(await pageOfMetricRuns(prisma, page)));
  if (rows.length > limit) return rows;
  // Phase 2: runs without it come last, whatever the order.
  const after = cursor?.value === null ? [Prisma.sql`r."id" ${cmp} ${cursor.id}::uuid`] : [];
  const missing = Prisma.sql`NOT EXISTS (SELECT 1 FROM "metric_summaries" s WHERE s."run_id" = r."id" AND s."name" = ${sort.metric})`;
  rows.push(
    ...(await prisma.$queryRaw<KeyRow[]>`
      SELECT r."id"::text AS id, NULL::text AS value FROM "runs" r
      ${where([missing, ...filters, ...after])}
      ORDER BY r."id" ${dir} LIMIT ${limit + 1 - rows.length}`),
  );
  return rows;
}

/**
 * Up to `limit + 1` runs of the filters that recorded the metric, in the order of its value, ties
 * by id, after the cursor. Unfiltered, a walk of the metric's (name, stat, run_id) index that
 * stops after the page. Filtered, that walk (joining each run by primary key) could read every
 * summary of the metric and find nothing (`status=FAILED` by `test/accuracy`, which only
 * succeeded runs write: 124,101 summaries and a run lookup each, 0.5–1.8 s), and the planner
 * cannot know it (it takes a filter's runs to be spread evenly among the metric's). So, as for
 * tags (`pageByTimeWithTags`), two bounded ways: the walk reads at most `METRIC_WALK_ROWS_PER_ROW`
 * summaries per row of the page, keeping the runs that pass the filters, and says whether it
 * reached the metric's last summary (counted again, from the index alone); only when it found too
 * few and did not, a second statement reads the filter's runs by their own indexes (status,
 * project, spec, tags: a materialized CTE, so the page's ORDER BY and LIMIT cannot lead the
 * planner back to the walk), probes each for its summary by primary key and sorts that set. Two
 * statements and not one: PostgreSQL plans a statement as a whole, and the second way's estimate
 * (every run of a broad filter) put the walk's cheap statement past `jit_above_cost`, so each page
 * paid 300–600 ms of JIT compilation. The second runs with JIT off for the same reason. Same rows,
 * same order as the walk alone.
 */
async function pageOfMetricRuns(prisma: PrismaClient, page: MetricSortedPage): Promise<KeyRow[]> {
  const { q, sort, filters, cursor, dir, cmp } = page;
  const { limit } = q;
  const col = STAT_COLUMNS[sort.stat];
  const recorded = metricRecordedBy(q, sort.metric);
  const ofMetric = [Prisma.sql`s."name" = ${sort.metric}`, ...recorded];
  const after = (value: Prisma.Sql, id: Prisma.Sql) =>
    cursor ? [Prisma.sql`(${value}, ${id}) ${cmp} (${cursor.value}::float8, ${cursor.id}::uuid)`] : [];
  const walk = where([...ofMetric, ...after(col, Prisma.sql`s."run_id"`)]);
  if (filters.length === 0) {
    return prisma.$queryRaw<KeyRow[]>`
      SELECT s."run_id"::text AS id, ${col}::text AS value FROM "metric_summaries" s ${walk}
      ORDER BY ${col} ${dir}, s."run_id" ${dir} LIMIT ${limit + 1}`;
  }
  const walked = (limit + 1) * METRIC_WALK_ROWS_PER_ROW;
  // The filter's runs, each probed for its summary, sorted; with JIT off unless the set is small.
  const filteredRuns = async (small: boolean) => {
    const statement = prisma.$queryRaw<KeyRow[]>`
        WITH "filtered" AS MATERIALIZED (
          SELECT r."id" FROM "runs" r ${where([...recorded, ...filters])}
        )
        SELECT f."id"::text AS id, m."value"::text AS value FROM "filtered" f
        CROSS JOIN LATERAL (
          SELECT ${col} AS "value" FROM "metric_summaries" s WHERE s."run_id" = f."id" AND s."name" = ${sort.metric} LIMIT 1
        ) m
        ${where(after(Prisma.sql`m."value"`, Prisma.sql`f."id"`))}
        ORDER BY m."value" ${dir}, f."id" ${dir} LIMIT ${limit + 1}`;
    if (small) return statement;
    const [, rows] = await prisma.$transaction([prisma.$executeRaw`SET LOCAL jit = off`, statement]);
    return rows;
  };
  // An id prefix (4 hex digits at least) is a range of the primary key holding one run in 65,536
  // or fewer: its runs are the cheaper way, always.
  if (q.idPrefix !== undefined) return filteredRuns(true);
  // The page's runs the walk found (none: one row of nulls), and, unless it found a whole page,
  // how many summaries it had to walk (fewer than `walked`: it reached the metric's last one).
  const found = await prisma.$queryRaw<(KeyRow & { summaries: number | null })[]>`
    WITH "found" AS (
      SELECT w."id", w."value" FROM (
        SELECT s."run_id" AS "id", ${col} AS "value", (${Prisma.join(filters, ' AND ')}) AS "kept"
        FROM "metric_summaries" s JOIN "runs" r ON r."id" = s."run_id" ${walk}
        ORDER BY ${col} ${dir}, s."run_id" ${dir} LIMIT ${walked}
      ) w WHERE w."kept" ORDER BY w."value" ${dir}, w."id" ${dir} LIMIT ${limit + 1}
    ), "walk" AS (
      SELECT CASE WHEN (SELECT count(*) FROM "found") > ${limit} THEN NULL ELSE (SELECT count(*) FROM (
        SELECT 1 FROM "metric_summaries" s ${walk} ORDER BY ${col} ${dir}, s."run_id" ${dir} LIMIT ${walked}
      ) w) END::int4 AS "summaries"
    )
    SELECT f."id"::text AS id, f."value"::text AS value, k."summaries" FROM "walk" k LEFT JOIN "found" f ON TRUE
    ORDER BY f."value" ${dir}, f."id" ${dir}`;
  const rows = found.filter((row) => row.id !== null).map(({ id, value }) => ({ id, value }));
  const summaries = found[0]?.summaries ?? null;
  if (rows.length > limit || summaries === null || summaries < walked) return rows;
  return filteredRuns(false);
}

/**
 * When the list is of one project's runs or one kind's, whether any such run ever recorded the
 * metric (metric_names), as a condition: PostgreSQL runs it once, before the walk (a one-time
 * filter), and skips the walk when it is false. Without it a kind or project that never records
 * the metric (`test/accuracy` of pretrains) walked every summary of the metric for nothing: the
 * planner takes the runs of the filter to be spread evenly among the metric's.
 */
function metricRecordedBy(q: RunListQuery, metric: string): Prisma.Sql[] {
  if (q.project === undefined && !q.kind) return [];
  const scope = [
    Prisma.sql`m."name" = ${metric}`,
    ...(q.project !== undefined ? [Prisma.sql`m."project" = ${q.project}`] : []),
    ...(q.kind ? [Prisma.sql`m."kind" = ${q.kind}::"RunKind"`] : []),
  ];
  return [Prisma.sql`EXISTS (SELECT 1 FROM "metric_names" m ${where(scope)})`];
}

/** Runs carrying every one of `q.tags`, as a condition (containment, which the GIN index on tags answers). */
function tagFilter(q: RunListQuery): Prisma.Sql | null {
  return q.tags?.length ? Prisma.sql`r."tags" @> ARRAY[${Prisma.join(q.tags)}]::text[]` : null;
}

/** Every filter of `q` but the tags (`tagFilter`), which decide how a page is read. */
function runFilters(q: RunListQuery): Prisma.Sql[] {
  const conditions: Prisma.Sql[] = [];
  if (q.project !== undefined) conditions.push(Prisma.sql`r."project" = ${q.project}`);
  if (q.status) conditions.push(Prisma.sql`r."status" = ${q.status}::"RunStatus"`);
  if (q.kind) conditions.push(Prisma.sql`r."kind" = ${q.kind}::"RunKind"`);
  if (q.idPrefix !== undefined) {
    const [low, high] = idPrefixRange(q.idPrefix);
    conditions.push(Prisma.sql`r."id" BETWEEN ${low}::uuid AND ${high}::uuid`);
  }
  if (q.search) conditions.push(Prisma.sql`r."name" ILIKE ${`%${escapeLike(q.search)}%`}`);
  // One containment test for all spec filters: the GIN (jsonb_path_ops) index answers it.
  const spec = (q.spec ?? []).filter((filter) => !isPositionSplitFilter(filter));
  if (spec.length) conditions.push(Prisma.sql`r."spec" @> ${JSON.stringify(specContainment(spec))}::jsonb`);
  if (spec.length < (q.spec?.length ?? 0)) conditions.push(splitByPosition);
  if (q.archived !== 'any')
    conditions.push(
      q.archived === true ? Prisma.sql`r."archived_at" IS NOT NULL` : Prisma.sql`r."archived_at" IS NULL`,
    );
  return conditions;
}

/** `spec.dataset.split.assign=position`, which also holds of specs stored before key splits (`splitByPosition`). */
function isPositionSplitFilter({ path, value }: SpecFilter): boolean {
  return value === 'position' && path.length === 3 && path.join('.') === 'dataset.split.assign';
}

/**
 * A run whose image folder was split by position: its spec says so, or it was stored before
 * `split.assign` existed (an image-folder dataset whose split, absent or null, or an object, has no
 * `assign`), which `splitAsRecorded` in libs/contracts reads as a position split. Stored specs are
 * not rewritten (the previous release's strict schema would refuse the key), so the filter holds
 * the same rule. The containment of the image-folder name is answered by the spec's GIN index.
 */
const splitByPosition = Prisma.sql`(r."spec" @> '{"dataset": {"split": {"assign": "position"}}}'::jsonb
  OR (r."spec" @> '{"dataset": {"name": "image-folder"}}'::jsonb
    AND (COALESCE(jsonb_typeof(r."spec" -> 'dataset' -> 'split'), 'null') = 'null'
      OR (jsonb_typeof(r."spec" -> 'dataset' -> 'split') = 'object' AND NOT (r."spec" -> 'dataset' -> 'split') ? 'assign'))))`;

/**
 * `[{ path: ['training', 'learningRate'], value: 0.001 }]` → `{ training: { learningRate: 0.001 } }`.
 * The paths come from query strings: every level is a null-prototype object, and a segment that
 * names prototype machinery (`__proto__`, `constructor`, `prototype`) is refused, so no filter can
 * reach Object.prototype (`spec.__proto__.x=1` once made every later request of the process fail).
 */
export function specContainment(filters: SpecFilter[]): Record<string, unknown> {
  const root: Record<string, unknown> = Object.create(null);
  for (const { path, value } of filters) {
    const bad = path.find((segment) => segment === '' || isForbiddenKey(segment));
    if (path.length === 0 || bad !== undefined)
      throw new RangeError(`Spec filter path "${path.join('.')}" has a forbidden segment "${bad ?? ''}"`);
    let node = root;
    for (const key of path.slice(0, -1)) {
      const next = Object.hasOwn(node, key) ? node[key] : undefined;
      node = (node[key] = typeof next === 'object' && next !== null ? next : Object.create(null)) as Record<
        string,
        unknown
      >;
    }
    node[path[path.length - 1]!] = value;
  }
  return root;
}

// PostgreSQL's text form of a timestamptz (`2026-12-05 07:11:15.123+00`): what this module puts in
// time cursors. Anything else was forged.
const TIMESTAMP_TEXT =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(?:Z|[+-](\d{2})(?::?(\d{2}))?)$/;

/**
 * A decoded cursor whose value PostgreSQL will take as the sort column's type. The cursor is
 * opaque but comes back from the client: a forged value (`2026-02-31`, `1e999`, text) would
 * otherwise fail inside the query as a 500 instead of a 400 naming the cursor.
 */
function checkedCursor(cursor: RunListCursor, sort: RunListSort, raw: string): RunListCursor {
  const forged = () => new InvalidCursorError(raw, 'not a cursor returned by this API');
  if (sort.by === 'createdAt') {
    const match = cursor.value === null ? null : TIMESTAMP_TEXT.exec(cursor.value);
    if (!match) throw forged();
    const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const [offsetHours, offsetMinutes] = [Number(match[8] ?? 0), Number(match[9] ?? 0)];
    const date = new Date(Date.UTC(year, month - 1, day));
    const inRange = hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 15 && offsetMinutes <= 59;
    if (year < 1 || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || !inRange) throw forged();
    return cursor;
  }
  // A metric value: decodeCursor took only the spelling of a double (`metricCursorValue`), which
  // PostgreSQL reads back as that double (subnormals included).
  return cursor;
}

/**
 * The run ids that start with `prefix`, as the lowest and highest of them: uuids order as their
 * hex digits do, so a prefix is a range the primary key's index answers (a LIKE on `id::text`
 * would read every row).
 */
export function idPrefixRange(prefix: string): [string, string] {
  if (!RUN_ID_PREFIX.test(prefix)) throw new RangeError(`Run id prefix must match ${RUN_ID_PREFIX}, got "${prefix}"`);
  const uuid = (hex: string) =>
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return [uuid(prefix.padEnd(32, '0')), uuid(prefix.padEnd(32, 'f'))];
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function where(conditions: Prisma.Sql[]): Prisma.Sql {
  return conditions.length ? Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}` : Prisma.empty;
}

/** The runs of `ids` (of `project`, when given) as list rows, in the order of `ids`; unknown ids are left out. */
export async function loadRunListItems(
  prisma: PrismaClient,
  ids: string[],
  project?: string,
): Promise<RunListItemView[]> {
  if (ids.length === 0) return [];
  const runs = await prisma.run.findMany({
    where: { id: { in: ids }, project },
    omit: { spec: true },
    include: { metricSummaries: { orderBy: { name: 'asc' } }, baseRun: { select: { name: true } } },
  });
  const byId = new Map(runs.map((run) => [run.id, run]));
  return ids.flatMap((id) => {
    const run = byId.get(id);
    if (!run) return []; // deleted between the two queries: it drops out of the page
    const { metricSummaries, baseRun, ...row } = run;
    return [runListItemView(row, metricSummaries, baseRun?.name ?? null)];
  });
}
