-- A project's own QUOTA_QUEUED_RUNS beside its own PROJECT_MAX_RUNNING: a row may now hold either
-- or both (null: the default applies); the API deletes a row once both are null. open_current_attempt
-- already reads max_running through coalesce(…, the caller's default), so a null is the default.
ALTER TABLE "project_limits" ALTER COLUMN "max_running" DROP NOT NULL;
ALTER TABLE "project_limits" ADD COLUMN "max_queued" INTEGER;
