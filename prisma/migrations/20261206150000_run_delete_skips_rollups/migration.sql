-- Deleting a run takes its points in batches, then the run, whose rollups go with it by their key:
-- refreshing the blocks each batch touched is work thrown away (7 s of the 24 s a run of 4,000,000
-- points took). The run's deletion now says so with the transaction-local setting the append path
-- sets for its inserts (`trainyard.metric_rollups_by_writer`), and the DELETE trigger stands aside
-- for it as the INSERT trigger does. Every other delete (a resume superseding steps, a hand-written
-- DELETE) still gets the trigger.
DROP TRIGGER "metric_rollups_after_delete" ON "metric_points";
CREATE TRIGGER "metric_rollups_after_delete" AFTER DELETE ON "metric_points"
  REFERENCING OLD TABLE AS "changed" FOR EACH STATEMENT
  WHEN (current_setting('trainyard.metric_rollups_by_writer', true) IS DISTINCT FROM 'on')
  EXECUTE FUNCTION "metric_rollups_refresh"();
