-- Faster metric ingest (issue 6): MetricsRepository's append path keeps metric_rollups itself, in
-- the statement that inserts the points, by merging the batch into the touched blocks (O(batch));
-- the INSERT trigger, which re-reads every touched block, then stands aside. The statement says
-- so with a transaction-local setting (`set_config('trainyard.metric_rollups_by_writer', 'on',
-- true)`); every other writer (a bulk COPY, a hand-written INSERT) still gets the trigger.
DROP TRIGGER "metric_rollups_after_insert" ON "metric_points";
CREATE TRIGGER "metric_rollups_after_insert" AFTER INSERT ON "metric_points"
  REFERENCING NEW TABLE AS "changed" FOR EACH STATEMENT
  WHEN (current_setting('trainyard.metric_rollups_by_writer', true) IS DISTINCT FROM 'on')
  EXECUTE FUNCTION "metric_rollups_refresh"();

-- metric_points.run_id and attempt_id stop being foreign keys: their checks, one per point, were
-- half of what an appended batch cost the database. MetricsRepository checks the run once per
-- batch instead, locking its row as the key check did (FOR KEY SHARE; FOR SHARE when fenced), and
-- the attempt, which must be one of that run's. The attempt_id index only served the key's
-- ON DELETE SET NULL; the trigger below finds an attempt's points through its run instead.
ALTER TABLE "metric_points" DROP CONSTRAINT "metric_points_run_id_fkey";
ALTER TABLE "metric_points" DROP CONSTRAINT "metric_points_attempt_id_fkey";
DROP INDEX "metric_points_attempt_id_idx";

-- What ON DELETE CASCADE did: a deleted run's points go with it (the DELETE fires the rollup
-- trigger as the cascade did; the run's rollups and summaries still cascade by their keys).
CREATE FUNCTION "metric_points_delete_with_run"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "metric_points" p USING "gone" g WHERE p."run_id" = g."id";
  RETURN NULL;
END
$$;
CREATE TRIGGER "runs_delete_metric_points" AFTER DELETE ON "runs"
  REFERENCING OLD TABLE AS "gone" FOR EACH STATEMENT EXECUTE FUNCTION "metric_points_delete_with_run"();

-- What ON DELETE SET NULL did: a deleted attempt's points keep their values without it. Not for
-- an attempt deleted with its run (that run's points are going anyway).
CREATE FUNCTION "metric_points_forget_attempt"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "metric_points" p SET "attempt_id" = NULL FROM "gone" a
    WHERE p."run_id" = a."run_id" AND p."attempt_id" = a."id"
      AND EXISTS (SELECT 1 FROM "runs" r WHERE r."id" = a."run_id");
  RETURN NULL;
END
$$;
CREATE TRIGGER "attempts_delete_metric_points" AFTER DELETE ON "attempts"
  REFERENCING OLD TABLE AS "gone" FOR EACH STATEMENT EXECUTE FUNCTION "metric_points_forget_attempt"();

-- What ON UPDATE CASCADE did (ids never change today; if one did, its points follow).
CREATE FUNCTION "metric_points_follow_id"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'runs' THEN
    UPDATE "metric_points" SET "run_id" = NEW."id" WHERE "run_id" = OLD."id";
  ELSE
    UPDATE "metric_points" SET "attempt_id" = NEW."id" WHERE "run_id" IN (OLD."run_id", NEW."run_id") AND "attempt_id" = OLD."id";
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER "runs_id_metric_points" AFTER UPDATE OF "id" ON "runs"
  FOR EACH ROW WHEN (OLD."id" IS DISTINCT FROM NEW."id") EXECUTE FUNCTION "metric_points_follow_id"();
CREATE TRIGGER "attempts_id_metric_points" AFTER UPDATE OF "id" ON "attempts"
  FOR EACH ROW WHEN (OLD."id" IS DISTINCT FROM NEW."id") EXECUTE FUNCTION "metric_points_follow_id"();
