-- One project's key could fill the shared bucket with uploads (2 GiB each, as many as it liked).
-- An upload now records the bytes of the images it stored, and a project's uploads together are
-- held to QUOTA_PROJECT_UPLOAD_BYTES. Null for folders registered by path or prefix (the project's
-- own storage, not counted) and for uploads made before this migration (their sizes are not known
-- without listing the store). A nullable column with no default: a catalog change, no table rewrite.
-- The sum per project reads the (project, created_at, id) index's rows of that project only.
ALTER TABLE "datasets" ADD COLUMN "uploaded_bytes" BIGINT;
