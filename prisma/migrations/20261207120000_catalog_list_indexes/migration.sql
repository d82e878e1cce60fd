-- The dataset, pipeline and sweep lists are keyset pages newest first, one project's
-- (project = $1 ORDER BY created_at DESC, id DESC) or every project's (an operator's key), and the
-- model list pages every project's model names in (name, project) order: without these indexes each
-- page read the whole table and sorted it (23 ms a page at 5,000 datasets, growing with the table;
-- `npm run bench:history`, docs/benchmarks.md). Runs have had theirs since 20261205080000; a
-- project's models are read in the order of model_versions_project_name_version_key.
-- Plain CREATE INDEX, in the migration's transaction like every other: these tables hold one row
-- per registration or submit (thousands), so the build holds off their inserts for milliseconds.
CREATE INDEX "datasets_project_created_at_id_idx" ON "datasets"("project", "created_at", "id");
CREATE INDEX "datasets_created_at_id_idx" ON "datasets"("created_at", "id");
CREATE INDEX "pipelines_project_created_at_id_idx" ON "pipelines"("project", "created_at", "id");
CREATE INDEX "pipelines_created_at_id_idx" ON "pipelines"("created_at", "id");
CREATE INDEX "sweeps_project_created_at_id_idx" ON "sweeps"("project", "created_at", "id");
CREATE INDEX "sweeps_created_at_id_idx" ON "sweeps"("created_at", "id");
CREATE INDEX "model_versions_name_project_idx" ON "model_versions"("name", "project");
