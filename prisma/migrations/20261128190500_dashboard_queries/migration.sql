-- Dashboard queries (issue 6): spec filters, and charts of million-point series that stay fast.

-- `spec @> '{"training":{"learningRate":0.001}}'` (the run list's spec.* filters) uses this index.
CREATE INDEX "runs_spec_idx" ON "runs" USING GIN ("spec" jsonb_path_ops);

-- One row per 256 consecutive steps of a series: its count, last point, and the steps holding its
-- min and max. A 1,000,000-point series is ~3,900 rows here, so downsampling it to 1,000 points
-- reads those instead of the points, and no min or max (no spike) is lost on the way.
CREATE TABLE "metric_rollups" (
    "run_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "block" INTEGER NOT NULL,
    "count" INTEGER NOT NULL,
    "first_step" INTEGER NOT NULL,
    "last_step" INTEGER NOT NULL,
    "last_value" DOUBLE PRECISION NOT NULL,
    "min_step" INTEGER NOT NULL,
    "min_value" DOUBLE PRECISION NOT NULL,
    "max_step" INTEGER NOT NULL,
    "max_value" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "metric_rollups_pkey" PRIMARY KEY ("run_id","name","block")
);

ALTER TABLE "metric_rollups" ADD CONSTRAINT "metric_rollups_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Kept in step by statement-level triggers rather than by each writer, so every path that
-- changes points (MetricsRepository.write's upsert, a resume superseding steps, a bulk COPY)
-- keeps the rollups right. Each statement recomputes only the blocks it touched (≤ 256 points
-- each, read through the (run_id, name, step) index); writers of one run are already serialised
-- by MetricsRepository's advisory lock.
CREATE FUNCTION "metric_rollups_refresh"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "metric_rollups" r USING (SELECT DISTINCT c."run_id", c."name", c."step" / 256 AS "block" FROM "changed" c) t
    WHERE r."run_id" = t."run_id" AND r."name" = t."name" AND r."block" = t."block";
  INSERT INTO "metric_rollups"
    ("run_id", "name", "block", "count", "first_step", "last_step", "last_value", "min_step", "min_value", "max_step", "max_value")
  SELECT p."run_id", p."name", t."block", count(*)::int4, min(p."step"), max(p."step"),
    (array_agg(p."value" ORDER BY p."step" DESC))[1],
    (array_agg(p."step" ORDER BY p."value" ASC, p."step" ASC))[1], min(p."value"),
    (array_agg(p."step" ORDER BY p."value" DESC, p."step" ASC))[1], max(p."value")
  FROM (SELECT DISTINCT c."run_id", c."name", c."step" / 256 AS "block" FROM "changed" c) t
  JOIN "metric_points" p ON p."run_id" = t."run_id" AND p."name" = t."name"
    AND p."step" >= t."block" * 256 AND p."step" < (t."block" + 1) * 256
  GROUP BY p."run_id", p."name", t."block";
  RETURN NULL;
END
$$;

-- A trigger with transition tables serves one event only, hence three.
CREATE TRIGGER "metric_rollups_after_insert" AFTER INSERT ON "metric_points"
  REFERENCING NEW TABLE AS "changed" FOR EACH STATEMENT EXECUTE FUNCTION "metric_rollups_refresh"();
CREATE TRIGGER "metric_rollups_after_update" AFTER UPDATE ON "metric_points"
  REFERENCING NEW TABLE AS "changed" FOR EACH STATEMENT EXECUTE FUNCTION "metric_rollups_refresh"();
CREATE TRIGGER "metric_rollups_after_delete" AFTER DELETE ON "metric_points"
  REFERENCING OLD TABLE AS "changed" FOR EACH STATEMENT EXECUTE FUNCTION "metric_rollups_refresh"();

-- Existing points (a database migrated with history) get their rollups once.
INSERT INTO "metric_rollups"
  ("run_id", "name", "block", "count", "first_step", "last_step", "last_value", "min_step", "min_value", "max_step", "max_value")
SELECT p."run_id", p."name", p."step" / 256, count(*)::int4, min(p."step"), max(p."step"),
  (array_agg(p."value" ORDER BY p."step" DESC))[1],
  (array_agg(p."step" ORDER BY p."value" ASC, p."step" ASC))[1], min(p."value"),
  (array_agg(p."step" ORDER BY p."value" DESC, p."step" ASC))[1], max(p."value")
FROM "metric_points" p
GROUP BY p."run_id", p."name", p."step" / 256;
