-- A project's own cap on the priority its specs may name, beside its own PROJECT_MAX_RUNNING and
-- QUOTA_QUEUED_RUNS (null: QUOTA_MAX_PRIORITY as the API is configured). Read at submit, with the
-- project's load, under its submit lock; the API deletes a row once every limit is null.
ALTER TABLE "project_limits" ADD COLUMN "max_priority" INTEGER;
