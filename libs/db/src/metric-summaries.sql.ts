import { Prisma } from './generated/prisma/client';
import { metricGoal } from './metric-goal';
import type { MetricPointInput } from './model-types';

/**
 * The per-name aggregate of a set of points `p` (name, step, value), by goal `g.goal`: count,
 * last (value at the highest step), min, max, best and its step. NaN never counts as max or best
 * unless every value is NaN (PostgreSQL orders NaN above every number, so it is pushed last
 * explicitly), and ties on best go to the earliest step. Shared by the incremental merge and the
 * full recomputation so both summarise a set of points the same way.
 *
 * "The value at the least (key…)" is `min(ARRAY[key…, value])`, not `array_agg(… ORDER BY …)[1]`:
 * no sort and no array of the whole group (the ordered aggregates were most of a batch's merge).
 * Arrays compare element by element with float8's own order (NaN above every number, as ORDER BY),
 * and steps are exact in float8. Best: numbers before NaN, then the value (negated for a "max"
 * goal, exactly, and negated back), then the step; PostgreSQL computes the repeated min() once.
 */
const BEST_KEY = Prisma.sql`min(ARRAY[(p."value" = 'NaN'::float8)::int4::float8,
    CASE WHEN g.goal = 'min' THEN p."value" ELSE -p."value" END, p."step"::float8])`;
const AGGREGATES = Prisma.sql`
  count(*)::int4 AS n,
  (max(ARRAY[p."step"::float8, p."value"]))[2] AS last,
  max(p."step") AS last_step,
  min(p."value") AS min,
  COALESCE(max(p."value") FILTER (WHERE p."value" <> 'NaN'::float8), max(p."value")) AS max,
  CASE WHEN g.goal = 'min' THEN (${BEST_KEY})[2] ELSE -(${BEST_KEY})[2] END AS best,
  ((${BEST_KEY})[3])::int4 AS best_step`;

const goalsOf = (names: string[]) =>
  Prisma.sql`unnest(${names}::text[], ${names.map(metricGoal)}::text[]) AS g(name, goal)`;

// A new value wins "best" if it beats the stored one by the goal, as BEST_KEY ranks them: a number
// always beats NaN and NaN never beats a number; between two numbers, or two NaN (an all-NaN series,
// which float8 holds equal), the earlier step breaks a tie, so a NaN written below the stored best's
// step by a later batch (a resumed attempt's) takes it, as a full recomputation would.
const BETTER = Prisma.sql`CASE WHEN (EXCLUDED."best" = 'NaN'::float8) <> (s."best" = 'NaN'::float8) THEN s."best" = 'NaN'::float8
    WHEN s."goal" = 'min' THEN EXCLUDED."best" < s."best" OR (EXCLUDED."best" = s."best" AND EXCLUDED."best_step" < s."best_step")
    ELSE EXCLUDED."best" > s."best" OR (EXCLUDED."best" = s."best" AND EXCLUDED."best_step" < s."best_step") END`;

/** Merges per-name aggregates (`batch`: name, goal, n, last, last_step, min, max, best, best_step) into the summary rows. */
const mergeSummaries = (runId: string, where: Prisma.Sql) => Prisma.sql`
      INSERT INTO "metric_summaries" AS s
        ("run_id", "name", "goal", "count", "last", "last_step", "min", "max", "best", "best_step", "updated_at")
      SELECT ${runId}::uuid, b."name", b.goal, b.n, b.last, b.last_step, b.min, b.max, b.best, b.best_step, now()
      FROM batch b ${where}
      ON CONFLICT ("run_id", "name") DO UPDATE SET
        "count" = s."count" + EXCLUDED."count",
        "last" = CASE WHEN EXCLUDED."last_step" > s."last_step" THEN EXCLUDED."last" ELSE s."last" END,
        "last_step" = GREATEST(s."last_step", EXCLUDED."last_step"),
        -- LEAST, like min(), passes over NaN (it sorts above every number); max must skip it explicitly.
        "min" = LEAST(s."min", EXCLUDED."min"),
        "max" = CASE WHEN s."max" = 'NaN'::float8 THEN EXCLUDED."max" WHEN EXCLUDED."max" = 'NaN'::float8 THEN s."max"
          ELSE GREATEST(s."max", EXCLUDED."max") END,
        "best" = CASE WHEN ${BETTER} THEN EXCLUDED."best" ELSE s."best" END,
        "best_step" = CASE WHEN ${BETTER} THEN EXCLUDED."best_step" ELSE s."best_step" END,
        "updated_at" = EXCLUDED."updated_at"`;

/**
 * The batch as rows p(name, step, epoch, value, wall_time). Five parameters whatever the batch's
 * size: the distinct names as an array, everything else as comma-separated text (building and
 * binding 1,000-element arrays cost the writer several times more CPU than the statement's own
 * parsing). Doubles go as JavaScript prints them, so NaN and ±Infinity survive (float8 reads
 * both spellings); wall times as epoch milliseconds.
 */
const batchRows = (batch: MetricPointInput[]) => {
  const names: string[] = [];
  const nameIndex = new Map<string, number>();
  const indexes: number[] = [];
  for (const point of batch) {
    let index = nameIndex.get(point.name);
    if (index === undefined) nameIndex.set(point.name, (index = names.push(point.name)));
    indexes.push(index);
  }
  return Prisma.sql`(
        SELECT (${names}::text[])[q.n] AS name, q.step, q.epoch, q.value, to_timestamp(q.ms / 1000.0) AS wall_time
        FROM unnest(
          string_to_array(${indexes.join(',')}, ',')::int4[],
          string_to_array(${batch.map((p) => p.step).join(',')}, ',')::int4[],
          string_to_array(${batch.map((p) => p.epoch).join(',')}, ',')::int4[],
          string_to_array(${batch.map((p) => p.value).join(',')}, ',')::float8[],
          string_to_array(${batch.map((p) => p.wallTime.getTime()).join(',')}, ',')::float8[]
        ) AS q(n, step, epoch, value, ms)
      ) AS p`;
};

/**
 * Upserts the batch's points and merges its per-name aggregate into each summary row, in one
 * statement: O(batch), where recomputing from the series was O(series) per batch (O(n²) per
 * run). Upserting on (run, name, step) lets a resumed attempt overwrite its lost predecessor's
 * points instead of duplicating them; a merge would then keep the overwritten value's min/max/
 * best, so names where any point replaced an existing one (`xmax <> 0` on the returned row) are
 * not merged but returned, for `recomputeSummaries`. The rollup triggers keep metric_rollups.
 * The slow path of a write: `appendPoints` is tried first.
 */
export function upsertPointsMergingSummaries(
  runId: string,
  attemptId: string | null,
  batch: MetricPointInput[],
): Prisma.Sql {
  const names = [...new Set(batch.map((p) => p.name))];
  return Prisma.sql`
    WITH written AS (
      INSERT INTO "metric_points" ("run_id", "attempt_id", "name", "step", "epoch", "value", "wall_time")
      SELECT ${runId}::uuid, ${attemptId}::uuid, p.name, p.step, p.epoch, p.value, p.wall_time
      FROM ${batchRows(batch)}
      ON CONFLICT ("run_id", "name", "step") DO UPDATE SET
        "attempt_id" = EXCLUDED."attempt_id", "epoch" = EXCLUDED."epoch",
        "value" = EXCLUDED."value", "wall_time" = EXCLUDED."wall_time"
      RETURNING "name", "step", "value", (xmax = 0) AS inserted
    ), batch AS (
      SELECT p."name", g.goal, bool_and(p.inserted) AS fresh, ${AGGREGATES}
      FROM written p JOIN ${goalsOf(names)} ON g.name = p."name"
      GROUP BY p."name", g.goal
    ), merged AS (${mergeSummaries(runId, Prisma.sql`WHERE b.fresh`)}
    )
    SELECT "name" FROM batch WHERE NOT fresh`;
}

/**
 * Steps per metric_rollups row: a point at step s is in block ⌊s / ROLLUP_BLOCK⌋. The rollup
 * trigger of migration 20261128190500_dashboard_queries divides by the same number and applied
 * migrations are never edited, so this cannot change alone (metric-summaries.int-spec compares the
 * blocks the trigger and the writer keep with a GROUP BY on this constant).
 */
export const ROLLUP_BLOCK = 256;
// Inlined as a literal, not bound: GROUP BY must repeat the select list's expression, and two
// parameters are two different expressions to PostgreSQL.
const BLOCK_OF_STEP = Prisma.sql`p."step" / ${Prisma.raw(String(ROLLUP_BLOCK))}`;

/**
 * Every point of every run, compacted ones included: the view run_metric_points (migration
 * 20261207180000_metric_points_compaction), metric_points UNION ALL KEPT_POINTS. What every reader
 * of a series reads; PostgreSQL pushes the reader's conditions into both tables' (run_id, name,
 * step) indexes.
 */
export const RUN_POINTS = Prisma.sql`"run_metric_points"`;

/**
 * The compacted points (compacted_metric_points) a reader reads, the view kept_metric_points: all
 * but those at a step metric_points also holds, where a point written after the compaction wins.
 */
export const KEPT_POINTS = Prisma.sql`"kept_metric_points"`;

/** Name of the setting with which a statement tells the rollup triggers it keeps metric_rollups itself. */
export const ROLLUPS_BY_WRITER = 'trainyard.metric_rollups_by_writer';

/** The unique index a point that already exists collides with; `appendPoints` then fails whole. */
export const POINT_KEY_INDEX = 'metric_points_run_id_name_step_key';

// float8 comparisons order NaN above every number, as ORDER BY does, so these agree with the trigger.
const newMin = Prisma.sql`(EXCLUDED."min_value" < r."min_value" OR (EXCLUDED."min_value" = r."min_value" AND EXCLUDED."min_step" < r."min_step"))`;
const newMax = Prisma.sql`(EXCLUDED."max_value" > r."max_value" OR (EXCLUDED."max_value" = r."max_value" AND EXCLUDED."max_step" < r."max_step"))`;

/**
 * The fast path of a write, one statement in its own transaction (no interactive transaction,
 * one round trip): inserts the batch as new points and merges it into the summaries and into the
 * touched rollup blocks (count, first/last, min/max with their steps), O(batch). It sets
 * `ROLLUPS_BY_WRITER` for its transaction so the statement-level rollup trigger, which would
 * re-read every touched block, stands aside.
 *
 * A plain INSERT, no ON CONFLICT: if any point already exists (a resumed attempt rewriting its
 * predecessor's steps, or a retried batch), the statement fails on `POINT_KEY_INDEX` and nothing
 * of it lands; the caller then takes the upsert path, which recomputes what a merge cannot.
 *
 * metric_points has no foreign keys (a check per point cost as much as the rest of the insert):
 * the statement checks the run once and locks its row as the key check did, FOR KEY SHARE (FOR
 * SHARE when fenced, as `withFence` does, so opening a new attempt waits for this write), and an
 * unfenced write's attempt likewise, which must be one of the run's (a fenced one is the run's
 * current attempt). Then the run's metrics advisory lock (the same order as the upsert path: no
 * deadlock). Nothing is written unless the run exists and, when fenced, `attemptId` is its current
 * attempt. Returns one row: `found` (the run exists), `current` (its current attempt),
 * `attempt_found` (the unfenced write's attempt exists in this run, or none was given), `written`.
 */
export function appendPoints(
  runId: string,
  attemptId: string | null,
  fenced: boolean,
  lockNamespace: number,
  batch: MetricPointInput[],
): Prisma.Sql {
  const names = [...new Set(batch.map((p) => p.name))];
  const lock = fenced ? Prisma.sql`FOR SHARE` : Prisma.sql`FOR KEY SHARE`;
  const checkAttempt = !fenced && attemptId !== null;
  const allowed = fenced
    ? Prisma.sql`WHERE r.current IS NOT DISTINCT FROM ${attemptId}::text`
    : checkAttempt
      ? Prisma.sql`WHERE EXISTS (SELECT 1 FROM attempt)`
      : Prisma.empty;
  return Prisma.sql`
    WITH run AS (
      SELECT "current_attempt_id"::text AS current FROM "runs" WHERE "id" = ${runId}::uuid ${lock}
    ), attempt AS (
      SELECT 1 FROM "attempts" WHERE ${checkAttempt} AND "id" = ${attemptId}::uuid AND "run_id" = ${runId}::uuid FOR KEY SHARE
    ), go AS (
      SELECT pg_advisory_xact_lock(${lockNamespace}::int4, hashtext(${runId})) IS NULL AS locked,
        set_config(${ROLLUPS_BY_WRITER}, 'on', true) AS flag
      FROM run r ${allowed}
    ), written AS (
      INSERT INTO "metric_points" ("run_id", "attempt_id", "name", "step", "epoch", "value", "wall_time")
      SELECT ${runId}::uuid, ${attemptId}::uuid, p.name, p.step, p.epoch, p.value, p.wall_time
      FROM ${batchRows(batch)}
      WHERE EXISTS (SELECT 1 FROM go)
      RETURNING "name", "step", "value"
    ), batch AS (
      SELECT p."name", g.goal, ${AGGREGATES}
      FROM written p JOIN ${goalsOf(names)} ON g.name = p."name"
      GROUP BY p."name", g.goal
    ), merged AS (${mergeSummaries(runId, Prisma.empty)}
    ), rolled AS (
      -- The trigger function metric_rollups_refresh's aggregate, merged into the block's row: ties on
      -- min or max go to the earlier step, as its ORDER BY value, step does (min/max of
      -- ARRAY[value, ±step] instead of sorting, as AGGREGATES explains).
      INSERT INTO "metric_rollups" AS r
        ("run_id", "name", "block", "count", "first_step", "last_step", "last_value", "min_step", "min_value", "max_step", "max_value")
      SELECT ${runId}::uuid, p."name", ${BLOCK_OF_STEP}, count(*)::int4, min(p."step"), max(p."step"),
        (max(ARRAY[p."step"::float8, p."value"]))[2],
        ((min(ARRAY[p."value", p."step"::float8]))[2])::int4, min(p."value"),
        (-(max(ARRAY[p."value", -p."step"::float8]))[2])::int4, max(p."value")
      FROM written p
      GROUP BY p."name", ${BLOCK_OF_STEP}
      ON CONFLICT ("run_id", "name", "block") DO UPDATE SET
        "count" = r."count" + EXCLUDED."count",
        "first_step" = LEAST(r."first_step", EXCLUDED."first_step"),
        "last_step" = GREATEST(r."last_step", EXCLUDED."last_step"),
        "last_value" = CASE WHEN EXCLUDED."last_step" > r."last_step" THEN EXCLUDED."last_value" ELSE r."last_value" END,
        "min_step" = CASE WHEN ${newMin} THEN EXCLUDED."min_step" ELSE r."min_step" END,
        "min_value" = CASE WHEN ${newMin} THEN EXCLUDED."min_value" ELSE r."min_value" END,
        "max_step" = CASE WHEN ${newMax} THEN EXCLUDED."max_step" ELSE r."max_step" END,
        "max_value" = CASE WHEN ${newMax} THEN EXCLUDED."max_value" ELSE r."max_value" END
    )
    SELECT EXISTS (SELECT 1 FROM run) AS found, (SELECT current FROM run) AS current,
      (NOT ${checkAttempt} OR EXISTS (SELECT 1 FROM attempt)) AS attempt_found, (SELECT count(*) FROM written)::int4 AS written`;
}

/**
 * The upsert path's check of an unfenced write's run and attempt (a fenced write's is `withFence`),
 * with the row locks the foreign keys' checks took: `appendPoints` explains why it is done here.
 */
export function lockWriteTarget(runId: string, attemptId: string | null): Prisma.Sql {
  return Prisma.sql`
    WITH run AS (SELECT 1 FROM "runs" WHERE "id" = ${runId}::uuid FOR KEY SHARE),
      attempt AS (SELECT 1 FROM "attempts" WHERE "id" = ${attemptId}::uuid AND "run_id" = ${runId}::uuid FOR KEY SHARE)
    SELECT EXISTS (SELECT 1 FROM run) AS found, (${attemptId}::uuid IS NULL OR EXISTS (SELECT 1 FROM attempt)) AS attempt_found`;
}

/**
 * The summaries' aggregate over pieces q(name, n, last_step, last_value, min_value, min_step,
 * max_value, max_step): what AGGREGATES computes over points, where a piece is a whole rollup
 * block (NaN-free, see `recomputeSummaries`) or one point (n 1, every value its value, every step
 * its step). Best: the least of (NaN?, the value by the goal, its step) over each piece's min (goal
 * "min") or max (goal "max"), which for a NaN-free block are its best with ties on the earlier step,
 * as the rollups keep them.
 */
const PIECE_BEST_KEY = Prisma.sql`min(CASE WHEN g.goal = 'min'
    THEN ARRAY[(q."min_value" = 'NaN'::float8)::int4::float8, q."min_value", q."min_step"::float8]
    ELSE ARRAY[(q."max_value" = 'NaN'::float8)::int4::float8, -q."max_value", q."max_step"::float8] END)`;
const PIECE_AGGREGATES = Prisma.sql`
  sum(q."n")::int4 AS n,
  (max(ARRAY[q."last_step"::float8, q."last_value"]))[2] AS last,
  max(q."last_step") AS last_step,
  min(q."min_value") AS min,
  COALESCE(max(q."max_value") FILTER (WHERE q."max_value" <> 'NaN'::float8), max(q."max_value")) AS max,
  CASE WHEN g.goal = 'min' THEN (${PIECE_BEST_KEY})[2] ELSE -(${PIECE_BEST_KEY})[2] END AS best,
  ((${PIECE_BEST_KEY})[3])::int4 AS best_step`;

/**
 * Rebuilds the summaries of `names` after points were overwritten or deleted (a resume superseding
 * the lost attempt's steps), where a merge cannot take a value back out. From metric_rollups, which
 * the triggers have brought up to date by the time this runs: a block whose max is a number holds
 * no NaN (NaN sorts above every number), so its count, last, min and max with their steps are all a
 * summary needs of it; only the points of blocks that hold a NaN are read (a summary's max and best
 * pass over NaN, a rollup's do not). O(blocks), not O(series): a resume of a run with millions of
 * points rebuilds its summaries in milliseconds.
 */
export function recomputeSummaries(runId: string, names: string[]): Prisma.Sql {
  const block = Prisma.raw(String(ROLLUP_BLOCK));
  return Prisma.sql`
    INSERT INTO "metric_summaries"
      ("run_id", "name", "goal", "count", "last", "last_step", "min", "max", "best", "best_step", "updated_at")
    SELECT ${runId}::uuid, a."name", a.goal, a.n, a.last, a.last_step, a.min, a.max, a.best, a.best_step, now()
    FROM (
      SELECT q."name", g.goal, ${PIECE_AGGREGATES}
      FROM (
        SELECT r."name", r."count" AS n, r."last_step", r."last_value", r."min_value", r."min_step", r."max_value", r."max_step"
        FROM "metric_rollups" r
        WHERE r."run_id" = ${runId}::uuid AND r."name" = ANY(${names}::text[]) AND r."max_value" <> 'NaN'::float8
        UNION ALL
        SELECT p."name", 1, p."step", p."value", p."value", p."step", p."value", p."step"
        FROM "metric_rollups" r JOIN ${RUN_POINTS} p ON p."run_id" = r."run_id" AND p."name" = r."name"
          AND p."step" >= r."block" * ${block} AND p."step" < (r."block" + 1) * ${block}
        WHERE r."run_id" = ${runId}::uuid AND r."name" = ANY(${names}::text[]) AND r."max_value" = 'NaN'::float8
      ) q JOIN ${goalsOf(names)} ON g.name = q."name"
      GROUP BY q."name", g.goal
    ) a
    ON CONFLICT ("run_id", "name") DO UPDATE SET
      "goal" = EXCLUDED."goal", "count" = EXCLUDED."count", "last" = EXCLUDED."last",
      "last_step" = EXCLUDED."last_step", "min" = EXCLUDED."min", "max" = EXCLUDED."max",
      "best" = EXCLUDED."best", "best_step" = EXCLUDED."best_step", "updated_at" = EXCLUDED."updated_at"`;
}
