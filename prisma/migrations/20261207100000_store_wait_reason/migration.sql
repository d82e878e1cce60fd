-- A run given back to wait for the object store showed "waiting for the object store (try N, in S s):
-- …" as its failure reason (apps/worker/src/outcome.concluder.ts) and kept it once its next attempt
-- trained, the "in S s" long past. open_current_attempt now rewrites that reason as the attempt
-- opens: "retrying after waiting for the object store (try N): …", as a retried failure reads
-- "retrying after: …"; any other reason is kept, and success clears it as before. Same signature
-- and answer: a worker of the previous release calls it as before.
CREATE OR REPLACE FUNCTION "open_current_attempt"(
  p_run_id UUID,
  p_attempt_id UUID,
  p_worker_id TEXT,
  p_running_limit INTEGER,
  p_terminal_statuses TEXT[],
  p_failed_outcomes TEXT[]
) RETURNS JSONB
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_status TEXT;
  v_project TEXT;
  v_limit INTEGER;
  v_running INTEGER;
  v_crashed JSONB;
  v_attempt JSONB;
  v_failures INTEGER;
BEGIN
  SELECT "status"::TEXT, "project" INTO v_status, v_project FROM "runs" WHERE "id" = p_run_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('opened', false, 'status', NULL);
  END IF;
  IF v_status = ANY (p_terminal_statuses) THEN
    RETURN jsonb_build_object('opened', false, 'status', v_status);
  END IF;
  -- A run already RUNNING (taken over from a dead worker) holds its place; a new one needs a free
  -- one, counted under a per-project lock so two workers never both take the last place.
  IF v_status <> 'RUNNING' THEN
    SELECT coalesce((SELECT "max_running" FROM "project_limits" WHERE "project" = v_project), p_running_limit)
      INTO v_limit;
  END IF;
  IF v_limit IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext('trainyard:project-running:' || v_project));
    SELECT count(*) INTO v_running FROM "runs" WHERE "project" = v_project AND "status" = 'RUNNING';
    IF v_running >= v_limit THEN
      RETURN jsonb_build_object('opened', false, 'status', v_status, 'project', v_project, 'atCapacity', true,
        'limit', v_limit);
    END IF;
  END IF;

  WITH crashed AS (
    UPDATE "attempts" SET "outcome" = 'CRASHED', "ended_at" = now(),
      "error" = 'worker ' || coalesce("worker_id", '?') || ' stopped or lost the job without closing the attempt'
    WHERE "run_id" = p_run_id AND "outcome" = 'RUNNING'
    RETURNING *
  )
  SELECT coalesce(jsonb_agg(to_jsonb(crashed) ORDER BY "number"), '[]'::JSONB) INTO v_crashed FROM crashed;

  INSERT INTO "attempts" ("id", "run_id", "number", "worker_id")
  SELECT p_attempt_id, p_run_id, coalesce(max("number"), 0) + 1, p_worker_id FROM "attempts" WHERE "run_id" = p_run_id
  RETURNING to_jsonb("attempts".*) INTO v_attempt;

  UPDATE "runs" SET "current_attempt_id" = p_attempt_id, "status" = 'RUNNING',
    "started_at" = coalesce("started_at", now()), "updated_at" = now(),
    "failure_reason" = CASE WHEN starts_with("failure_reason", 'waiting for the object store (try ')
      THEN regexp_replace("failure_reason", '^waiting for the object store \(try (\d+), in \d+ s\)',
        'retrying after waiting for the object store (try \1)')
      ELSE "failure_reason" END
  WHERE "id" = p_run_id;

  SELECT count(*) INTO v_failures FROM "attempts"
  WHERE "run_id" = p_run_id AND "outcome"::TEXT = ANY (p_failed_outcomes);

  RETURN jsonb_build_object('opened', true, 'attempt', v_attempt, 'crashed', v_crashed, 'failures', v_failures);
END
$$;
