import { Prisma } from './generated/prisma/client';
import { metricGoal } from './metric-goal';
import type { MetricPointInput } from './metrics.repository';

/**
 * The per-name aggregate of a set of points `p` (name, step, value), by goal `g.goal`: count,
 * last (value at the highest step), min, max, best and its step. NaN never counts as max or best
 * unless every value is NaN (PostgreSQL sorts NaN above every number, so it is pushed last
 * explicitly), and ties on best go to the earliest step. Shared by the incremental merge and the
 * full recomputation so both summarise a set of points the same way.
 */
const AGGREGATES = Prisma.sql`
  count(*)::int4 AS n,
  (array_agg(p."value" ORDER BY p."step" DESC))[1] AS last,
  max(p."step") AS last_step,
  min(p."value") AS min,
  COALESCE(max(p."value") FILTER (WHERE p."value" <> 'NaN'::float8), max(p."value")) AS max,
  CASE WHEN g.goal = 'min'
    THEN (array_agg(p."value" ORDER BY p."value" = 'NaN'::float8, p."value" ASC, p."step" ASC))[1]
    ELSE (array_agg(p."value" ORDER BY p."value" = 'NaN'::float8, p."value" DESC, p."step" ASC))[1] END AS best,
  CASE WHEN g.goal = 'min'
    THEN (array_agg(p."step" ORDER BY p."value" = 'NaN'::float8, p."value" ASC, p."step" ASC))[1]
    ELSE (array_agg(p."step" ORDER BY p."value" = 'NaN'::float8, p."value" DESC, p."step" ASC))[1] END AS best_step`;

const goalsOf = (names: string[]) => Prisma.sql`unnest(${names}::text[], ${names.map(metricGoal)}::text[]) AS g(name, goal)`;

/**
 * Upserts the batch's points and merges its per-name aggregate into each summary row, in one
 * statement: O(batch), where recomputing from the series was O(series) per batch (O(n²) per
 * run). Upserting on (run, name, step) lets a resumed attempt overwrite its lost predecessor's
 * points instead of duplicating them; a merge would then keep the overwritten value's min/max/
 * best, so names where any point replaced an existing one (`xmax <> 0` on the returned row) are
 * not merged but returned, for `recomputeSummaries`. Doubles go over the wire as text so NaN and
 * ±Infinity survive.
 */
export function upsertPointsMergingSummaries(runId: string, attemptId: string | null, batch: MetricPointInput[]): Prisma.Sql {
  const names = [...new Set(batch.map((p) => p.name))];
  // A new value wins "best" if it beats the stored one by the goal; NaN never beats a number.
  const better = Prisma.sql`CASE WHEN EXCLUDED."best" = 'NaN'::float8 THEN false
    WHEN s."best" = 'NaN'::float8 THEN true
    WHEN s."goal" = 'min' THEN EXCLUDED."best" < s."best" OR (EXCLUDED."best" = s."best" AND EXCLUDED."best_step" < s."best_step")
    ELSE EXCLUDED."best" > s."best" OR (EXCLUDED."best" = s."best" AND EXCLUDED."best_step" < s."best_step") END`;
  return Prisma.sql`
    WITH written AS (
      INSERT INTO "metric_points" ("run_id", "attempt_id", "name", "step", "epoch", "value", "wall_time")
      SELECT ${runId}::uuid, ${attemptId}::uuid, p.name, p.step, p.epoch, p.value::float8, p.wall_time
      FROM unnest(
        ${batch.map((p) => p.name)}::text[],
        ${batch.map((p) => p.step)}::int4[],
        ${batch.map((p) => p.epoch)}::int4[],
        ${batch.map((p) => String(p.value))}::text[],
        ${batch.map((p) => p.wallTime.toISOString())}::timestamptz[]
      ) AS p(name, step, epoch, value, wall_time)
      ON CONFLICT ("run_id", "name", "step") DO UPDATE SET
        "attempt_id" = EXCLUDED."attempt_id", "epoch" = EXCLUDED."epoch",
        "value" = EXCLUDED."value", "wall_time" = EXCLUDED."wall_time"
      RETURNING "name", "step", "value", (xmax = 0) AS inserted
    ), batch AS (
      SELECT p."name", g.goal, bool_and(p.inserted) AS fresh, ${AGGREGATES}
      FROM written p JOIN ${goalsOf(names)} ON g.name = p."name"
      GROUP BY p."name", g.goal
    ), merged AS (
      INSERT INTO "metric_summaries" AS s
        ("run_id", "name", "goal", "count", "last", "last_step", "min", "max", "best", "best_step", "updated_at")
      SELECT ${runId}::uuid, b."name", b.goal, b.n, b.last, b.last_step, b.min, b.max, b.best, b.best_step, now()
      FROM batch b WHERE b.fresh
      ON CONFLICT ("run_id", "name") DO UPDATE SET
        "count" = s."count" + EXCLUDED."count",
        "last" = CASE WHEN EXCLUDED."last_step" > s."last_step" THEN EXCLUDED."last" ELSE s."last" END,
        "last_step" = GREATEST(s."last_step", EXCLUDED."last_step"),
        -- LEAST, like min(), passes over NaN (it sorts above every number); max must skip it explicitly.
        "min" = LEAST(s."min", EXCLUDED."min"),
        "max" = CASE WHEN s."max" = 'NaN'::float8 THEN EXCLUDED."max" WHEN EXCLUDED."max" = 'NaN'::float8 THEN s."max"
          ELSE GREATEST(s."max", EXCLUDED."max") END,
        "best" = CASE WHEN ${better} THEN EXCLUDED."best" ELSE s."best" END,
        "best_step" = CASE WHEN ${better} THEN EXCLUDED."best_step" ELSE s."best_step" END,
        "updated_at" = EXCLUDED."updated_at"
    )
    SELECT "name" FROM batch WHERE NOT fresh`;
}

/**
 * Rebuilds the summaries of `names` from the whole series: O(series), so kept for when points
 * were overwritten or deleted (a resume superseding the lost attempt's steps), where a merge
 * cannot take a value back out.
 */
export function recomputeSummaries(runId: string, names: string[]): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO "metric_summaries"
      ("run_id", "name", "goal", "count", "last", "last_step", "min", "max", "best", "best_step", "updated_at")
    SELECT ${runId}::uuid, a."name", a.goal, a.n, a.last, a.last_step, a.min, a.max, a.best, a.best_step, now()
    FROM (
      SELECT p."name", g.goal, ${AGGREGATES}
      FROM "metric_points" p JOIN ${goalsOf(names)} ON g.name = p."name"
      WHERE p."run_id" = ${runId}::uuid
      GROUP BY p."name", g.goal
    ) a
    ON CONFLICT ("run_id", "name") DO UPDATE SET
      "goal" = EXCLUDED."goal", "count" = EXCLUDED."count", "last" = EXCLUDED."last",
      "last_step" = EXCLUDED."last_step", "min" = EXCLUDED."min", "max" = EXCLUDED."max",
      "best" = EXCLUDED."best", "best_step" = EXCLUDED."best_step", "updated_at" = EXCLUDED."updated_at"`;
}
