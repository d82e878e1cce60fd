-- API keys: only a non-secret lookup handle and a keyed hash of the token are stored; the token
-- itself is shown once, when the key is created.
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "lookup" TEXT NOT NULL,
    "salt" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "scopes" TEXT[],
    "project" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_lookup_key" ON "api_keys"("lookup");

-- Every resource belongs to a project; what existed before projects is in "default".
ALTER TABLE "runs" ADD COLUMN "project" TEXT NOT NULL DEFAULT 'default';
ALTER TABLE "datasets" ADD COLUMN "project" TEXT NOT NULL DEFAULT 'default';
ALTER TABLE "model_versions" ADD COLUMN "project" TEXT NOT NULL DEFAULT 'default';
ALTER TABLE "pipelines" ADD COLUMN "project" TEXT NOT NULL DEFAULT 'default';
ALTER TABLE "sweeps" ADD COLUMN "project" TEXT NOT NULL DEFAULT 'default';

-- CreateIndex
CREATE INDEX "runs_project_created_at_id_idx" ON "runs"("project", "created_at", "id");

-- CreateIndex
CREATE INDEX "runs_project_status_idx" ON "runs"("project", "status");

-- Names are unique within a project, not across projects.
DROP INDEX "datasets_name_key";
CREATE UNIQUE INDEX "datasets_project_name_key" ON "datasets"("project", "name");
DROP INDEX "model_versions_name_version_key";
CREATE UNIQUE INDEX "model_versions_project_name_version_key" ON "model_versions"("project", "name", "version");
