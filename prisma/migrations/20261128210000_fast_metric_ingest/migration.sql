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
