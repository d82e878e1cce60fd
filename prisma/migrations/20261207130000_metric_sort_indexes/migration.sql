-- The run list sorted by a metric (`sort=metric:<name>:<stat>`) walks the metric's summaries in
-- the order of the stat and stops after a page. Only `best` had an index, (name, best): `last`,
-- `min` and `max` sorted every summary of the metric (170–420 ms at 190,000 summaries of a name,
-- growing with the history; `npm run bench:history`, docs/benchmarks.md "History at scale"), and
-- `best` read a whole group of tied values (1,963 runs with the top val_accuracy there) to break
-- the tie by run id. Each stat now has (name, stat, run_id), the page's exact order, ties included,
-- so a page reads its rows and a cursor's (value, run_id) is an index bound. They are rewritten at
-- every metric batch (one summary row per name); the ingest figures before and after are in
-- docs/benchmarks.md. Built in the migration's transaction like every other: it holds off metric
-- writes for the build (2–3 s per index at 501,713 summaries on the loaded project machine, 10 s
-- in all, and 0.7 s for metric_names).
DROP INDEX "metric_summaries_name_best_idx";
CREATE INDEX "metric_summaries_name_best_run_id_idx" ON "metric_summaries"("name", "best", "run_id");
CREATE INDEX "metric_summaries_name_last_run_id_idx" ON "metric_summaries"("name", "last", "run_id");
CREATE INDEX "metric_summaries_name_min_run_id_idx" ON "metric_summaries"("name", "min", "run_id");
CREATE INDEX "metric_summaries_name_max_run_id_idx" ON "metric_summaries"("name", "max", "run_id");

-- Which metric names runs of each project and kind have recorded. A metric sort filtered by kind or
-- project (`sort=metric:test/accuracy:best&kind=pretrain`) walked the whole metric's index looking
-- for a matching run when none had the metric (1–1.7 s at 124,000 summaries of the name: the
-- planner cannot know a metric is recorded by fine-tunes only); the run list asks this table first
-- and skips the walk. A row is added with a run's first summary of a name (a trigger, so every
-- writer and the recomputation are covered) and never removed: a name whose runs were all deleted
-- only costs the walk it would have cost before. A run's project and kind never change.
CREATE TABLE "metric_names" (
    "project" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "RunKind" NOT NULL,

    CONSTRAINT "metric_names_pkey" PRIMARY KEY ("name", "project", "kind")
);

INSERT INTO "metric_names" ("project", "name", "kind")
SELECT DISTINCT r."project", s."name", r."kind" FROM "metric_summaries" s JOIN "runs" r ON r."id" = s."run_id";

-- Row by row, and only for inserted summaries: an upsert that updates an existing summary (every
-- batch after a name's first) fires nothing. The lookup first keeps concurrent writers of a name
-- that is already known from queueing on the insert's unique check.
CREATE FUNCTION "metric_names_record"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "metric_names" ("project", "name", "kind")
  SELECT r."project", NEW."name", r."kind" FROM "runs" r
  WHERE r."id" = NEW."run_id"
    AND NOT EXISTS (SELECT 1 FROM "metric_names" m
                    WHERE m."name" = NEW."name" AND m."project" = r."project" AND m."kind" = r."kind")
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER "metric_names_after_insert" AFTER INSERT ON "metric_summaries"
  FOR EACH ROW EXECUTE FUNCTION "metric_names_record"();
