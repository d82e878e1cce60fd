-- metric_points grew without bound (about 204 bytes a point with its indexes: 6 GB a day at 3,000
-- runs of 10 metrics over 1,000 steps). The live workers' reconciler now compacts an ended run's
-- points METRIC_POINTS_COMPACT_AFTER_MS after it ended: of every 256-step block of a series (a
-- metric_rollups row) holding more than 4 points, only those at the block's first, min, max and
-- last step stay; the summaries and rollups stay as they were. runs.metrics_compacted_at records
-- when, so the run is compacted once and readers can say that its raw series is no longer every step.
--
-- A nullable column with no default: a catalog change, no table rewrite. The partial index holds
-- only the ended runs not yet compacted, so finding work never reads the compacted history; every
-- run ended before this migration is in it at first (the backlog, oldest first, a few a pass).
-- Plain CREATE INDEX in the migration's transaction, like every other: its build holds off writes
-- to "runs" for as long as it reads the table (as runs_awaiting_orphan_sweep_idx: 86 ms at 200,000 runs).
ALTER TABLE "runs" ADD COLUMN "metrics_compacted_at" TIMESTAMPTZ(3);
CREATE INDEX "runs_awaiting_metrics_compaction_idx" ON "runs"("ended_at", "id")
  WHERE "ended_at" IS NOT NULL AND "metrics_compacted_at" IS NULL;

-- The points compaction keeps leave metric_points for this table, every point of a compacted block
-- with them (the rest deleted): thinning metric_points in place left a few entries on nearly every
-- leaf page of its two B-tree indexes, which PostgreSQL reuses only once empty, so the indexes never
-- shrank (106 MB before compaction, 106 MB after it and VACUUM, 117 MB after one more run). Moving a
-- compacted run's whole key range out empties those pages for new runs' keys. metric_points' columns,
-- its id kept (a live view orders by it); keyed as the series readers read, (run_id, name, step).
-- A foreign key to runs, where metric_points has none: its check costs per point, and compaction
-- writes 1.6% of the points, once. attempt_id is not a key (as in metric_points): attempts are
-- deleted only with their run. No triggers: rollups and summaries never change with compaction.
CREATE TABLE "compacted_metric_points" (
    "run_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "id" BIGINT NOT NULL,
    "attempt_id" UUID,
    "epoch" INTEGER NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "wall_time" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "compacted_metric_points_pkey" PRIMARY KEY ("run_id", "name", "step")
);
ALTER TABLE "compacted_metric_points" ADD CONSTRAINT "compacted_metric_points_run_id_fkey"
  FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The compacted points a reader reads: all but those at a step metric_points holds too (a point
-- written after compaction at a step it kept, a late write to an ended run), which win. The rule
-- lives here only; each is one probe of metric_points' (run_id, name, step) index.
CREATE VIEW "kept_metric_points" AS
  SELECT c."id", c."run_id", c."attempt_id", c."name", c."step", c."epoch", c."value", c."wall_time"
  FROM "compacted_metric_points" c
  WHERE NOT EXISTS (SELECT 1 FROM "metric_points" p
                    WHERE p."run_id" = c."run_id" AND p."name" = c."name" AND p."step" = c."step");

-- Every point of every run, compacted or not: what reads a series reads. PostgreSQL flattens the
-- UNION ALL and pushes a reader's run_id/name/step conditions into both tables' indexes. A keyset
-- page reads each part on its own, LIMIT and all (seriesPageStatement in libs/db): over the union
-- the planner may read a long series' whole remaining range to sort it.
CREATE VIEW "run_metric_points" AS
  SELECT "id", "run_id", "attempt_id", "name", "step", "epoch", "value", "wall_time" FROM "metric_points"
  UNION ALL
  SELECT "id", "run_id", "attempt_id", "name", "step", "epoch", "value", "wall_time" FROM "kept_metric_points";

-- The rollup trigger rebuilds a touched block from its points (an overwrite or delete outside the
-- writer's own merge): a block of a compacted run is read from both tables, so a late write to one
-- leaves the block with its kept points' extremes, as before compaction moved them. The function of
-- migration 20261206140000_rollup_refresh_per_block otherwise unchanged.
CREATE OR REPLACE FUNCTION "metric_rollups_refresh"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "metric_rollups" r USING (SELECT DISTINCT c."run_id", c."name", c."step" / 256 AS "block" FROM "changed" c) t
    WHERE r."run_id" = t."run_id" AND r."name" = t."name" AND r."block" = t."block";
  INSERT INTO "metric_rollups"
    ("run_id", "name", "block", "count", "first_step", "last_step", "last_value", "min_step", "min_value", "max_step", "max_value")
  SELECT t."run_id", t."name", t."block", a."count", a."first_step", a."last_step", a."last_value",
    a."min_step", a."min_value", a."max_step", a."max_value"
  FROM (SELECT DISTINCT c."run_id", c."name", c."step" / 256 AS "block" FROM "changed" c) t
  CROSS JOIN LATERAL (
    SELECT count(*)::int4 AS "count", min(p."step") AS "first_step", max(p."step") AS "last_step",
      (array_agg(p."value" ORDER BY p."step" DESC))[1] AS "last_value",
      (array_agg(p."step" ORDER BY p."value" ASC, p."step" ASC))[1] AS "min_step", min(p."value") AS "min_value",
      (array_agg(p."step" ORDER BY p."value" DESC, p."step" ASC))[1] AS "max_step", max(p."value") AS "max_value"
    FROM "run_metric_points" p
    WHERE p."run_id" = t."run_id" AND p."name" = t."name"
      AND p."step" >= t."block" * 256 AND p."step" < (t."block" + 1) * 256
  ) a
  WHERE a."count" > 0;
  RETURN NULL;
END
$$;
