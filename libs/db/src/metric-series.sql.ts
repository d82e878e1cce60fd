import { Prisma, type MetricPoint } from './generated/prisma/client';
import { KEPT_POINTS, ROLLUP_BLOCK } from './metric-summaries.sql';

/** Above this many points a series is never scanned point by point (~10 ms of aggregation). */
const RAW_SCAN_LIMIT = 50_000;

/** A series' name, size and step range, as the rollups know them. */
export interface SeriesExtent {
  name: string;
  count: number;
  firstStep: number;
  lastStep: number;
}

/** The series statements return whole metric_points rows, under Prisma's field names (POINT_COLUMNS). */
export type PointRow = MetricPoint;

export const POINT_COLUMNS = Prisma.sql`p."id", p."run_id"::text AS "runId", p."attempt_id"::text AS "attemptId", p."name", p."step",
  p."epoch", p."value", p."wall_time" AS "wallTime"`;

/**
 * `read` of metric_points and of the compacted points (KEPT_POINTS), each planned on its own, as a
 * UNION ALL subquery. A series read does this rather than read run_metric_points (RUN_POINTS in
 * metric-summaries.sql) with a LIMIT, an IN list or an aggregate, over which the planner read and
 * sorted the whole series (a keyset page) or scanned the table (a chart from 40,000 points: 60 ms,
 * against 40–50 for metric_points alone): each part is planned as metric_points alone was.
 */
function eachTable(read: (from: Prisma.Sql) => Prisma.Sql): Prisma.Sql {
  return Prisma.sql`((${read(Prisma.sql`"metric_points"`)}) UNION ALL (${read(KEPT_POINTS)}))`;
}

/** Names, sizes and step ranges of a run's series, from the rollups (~4,000 rows per million points). */
export function seriesExtentsStatement(runId: string, names?: string[]): Prisma.Sql {
  const only = names ? Prisma.sql`AND "name" = ANY(${names}::text[])` : Prisma.empty;
  return Prisma.sql`
    SELECT "name", sum("count")::int4 AS count, min("first_step") AS "firstStep", max("last_step") AS "lastStep"
    FROM "metric_rollups" WHERE "run_id" = ${runId}::uuid ${only}
    GROUP BY "name" ORDER BY "name"`;
}

/**
 * Up to `limit` points of one series after step `afterStep` (from its first when null), by step:
 * one keyset page, a single range of each table's (run_id, name, step) index however long the
 * series, metric_points' and the compacted points' each read to `limit` on its own (eachTable) and
 * the two merged.
 */
export function seriesPageStatement(runId: string, name: string, afterStep: number | null, limit: number): Prisma.Sql {
  const after = afterStep === null ? Prisma.empty : Prisma.sql`AND p."step" > ${afterStep}::int4`;
  const part = (from: Prisma.Sql) => Prisma.sql`
      SELECT ${POINT_COLUMNS} FROM ${from} p
      WHERE p."run_id" = ${runId}::uuid AND p."name" = ${name} ${after} ORDER BY p."step" LIMIT ${limit}::int4`;
  return Prisma.sql`SELECT * FROM ${eachTable(part)} p ORDER BY p."step" LIMIT ${limit}::int4`;
}

/**
 * At most `maxPoints` real points of a series (null when it has no more than that: read it whole).
 * It is cut into ⌊(maxPoints − 2) / 2⌋ buckets of equal step width, and of each bucket the points
 * holding its minimum and its maximum are kept, plus the series' first and last points. A single
 * spike is its bucket's max, so it always survives, unlike averaging or every-nth sampling.
 * Buckets at least one rollup block wide, and any series over 50,000 points, are computed from
 * metric_rollups (whole blocks per bucket: a long series asked for slightly narrower buckets gets
 * one block per bucket, so fewer points); short series from the points themselves. Either way in
 * PostgreSQL, and only the chosen points cross the wire.
 */
export function downsampledSeriesStatement(runId: string, extent: SeriesExtent, maxPoints: number): Prisma.Sql | null {
  if (extent.count <= maxPoints) return null;
  const buckets = Math.max(1, Math.floor((maxPoints - 2) / 2));
  const span = extent.lastStep - extent.firstStep + 1;
  const width = Math.ceil(span / buckets);

  let extremes: Prisma.Sql;
  if (width >= ROLLUP_BLOCK || extent.count > RAW_SCAN_LIMIT) {
    const firstBlock = Math.floor(extent.firstStep / ROLLUP_BLOCK);
    const lastBlock = Math.floor(extent.lastStep / ROLLUP_BLOCK);
    const blocksPerBucket = Math.ceil((lastBlock - firstBlock + 1) / buckets);
    extremes = Prisma.sql`
      SELECT ("block" - ${firstBlock}::int4) / ${blocksPerBucket}::int4 AS bucket,
        min(ARRAY["min_value", "min_step"::float8]) AS lo, max(ARRAY["max_value", "max_step"::float8]) AS hi
      FROM "metric_rollups" WHERE "run_id" = ${runId}::uuid AND "name" = ${extent.name} GROUP BY 1`;
  } else {
    const perTable = (from: Prisma.Sql) => Prisma.sql`
      SELECT ("step" - ${extent.firstStep}::int4) / ${width}::int4 AS bucket,
        min(ARRAY["value", "step"::float8]) AS lo, max(ARRAY["value", "step"::float8]) AS hi
      FROM ${from} WHERE "run_id" = ${runId}::uuid AND "name" = ${extent.name} GROUP BY 1`;
    extremes = Prisma.sql`
      SELECT bucket, min(lo) AS lo, max(hi) AS hi FROM ${eachTable(perTable)} e GROUP BY 1`;
  }
  const chosen = (from: Prisma.Sql) => Prisma.sql`
      SELECT ${POINT_COLUMNS} FROM ${from} p
      WHERE p."run_id" = ${runId}::uuid AND p."name" = ${extent.name} AND p."step" IN (SELECT "step" FROM steps)`;
  return Prisma.sql`
    WITH b AS (${extremes}), steps AS (
      SELECT (lo)[2]::int4 AS "step" FROM b UNION SELECT (hi)[2]::int4 FROM b
      UNION SELECT ${extent.firstStep}::int4 UNION SELECT ${extent.lastStep}::int4)
    SELECT * FROM ${eachTable(chosen)} p ORDER BY p."step"`;
}
