-- Every quota of a project had an override of its own but the bytes its uploads may hold: an
-- operator could give one team 500 GiB of uploads only by raising QUOTA_PROJECT_UPLOAD_BYTES for
-- every project. A nullable column with no default: a catalog change, no table rewrite; null keeps
-- the API's default.
ALTER TABLE "project_limits" ADD COLUMN "max_upload_bytes" BIGINT;
