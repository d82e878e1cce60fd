-- Each worker records the PROJECT_MAX_RUNNING it applies (null: none), so the API can say what
-- holds a project without its own limit without being given the same setting, and show workers
-- that disagree. Expand-only: a worker of the previous release leaves it null.
ALTER TABLE "workers" ADD COLUMN "project_max_running" INTEGER;
