-- A finished run's test scores are metrics now (`test/accuracy`, `test/macroF1`, a pretrain's
-- `test/mse`: libs/training/src/test-metrics.ts), so runs sort by them
-- (`GET /v1/runs?sort=metric:test/accuracy:best`). Runs that SUCCEEDED before get theirs from the
-- result they stored, as the training process now writes them: every finite number at the top of
-- the result but the sample count, one point at the step and epoch of the last weights trained (0
-- for an evaluation), at the time the run ended. The INSERT trigger builds their rollups; their
-- summaries are written here as MetricsRepository writes one point's (goal as metricGoal decides:
-- lower is better for names holding loss, mse or error).
INSERT INTO "metric_points" ("run_id", "attempt_id", "name", "step", "epoch", "value", "wall_time")
SELECT r."id", r."current_attempt_id", 'test/' || e."key",
  GREATEST(0, COALESCE((r."result" -> 'selection' -> 'last' ->> 'step')::int4, 0)),
  COALESCE((r."result" -> 'selection' -> 'last' ->> 'epoch')::int4, 0),
  (e."value" #>> '{}')::float8,
  COALESCE(r."ended_at", r."updated_at")
FROM "runs" r
CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(r."result") = 'object' THEN r."result" ELSE '{}'::jsonb END) e
WHERE r."status" = 'SUCCEEDED' AND jsonb_typeof(e."value") = 'number' AND e."key" <> 'samples'
ON CONFLICT ("run_id", "name", "step") DO NOTHING;

INSERT INTO "metric_summaries"
  ("run_id", "name", "goal", "count", "last", "last_step", "min", "max", "best", "best_step", "updated_at")
SELECT p."run_id", p."name",
  CASE WHEN lower(p."name") LIKE '%loss%' OR lower(p."name") LIKE '%mse%' OR lower(p."name") LIKE '%error%'
    THEN 'min' ELSE 'max' END,
  1, p."value", p."step", p."value", p."value", p."value", p."step", now()
FROM "metric_points" p
WHERE p."name" LIKE 'test/%'
ON CONFLICT ("run_id", "name") DO NOTHING;
