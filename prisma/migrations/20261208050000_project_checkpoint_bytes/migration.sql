-- What each project's checkpoints hold in the shared bucket, kept as they are written and
-- deleted: checkpoints are the largest thing a project puts there (a run keeps its last few, its
-- best and its pinned ones, for as long as the run exists), and summing them at a read would join
-- every run of the project (hundreds of ms at 200,000 runs). A row's bytes count while it is not
-- DELETED (a WRITING or CORRUPT checkpoint's files are in the store too).
CREATE TABLE "project_storage" (
    "project" TEXT NOT NULL,
    "checkpoint_bytes" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "project_storage_pkey" PRIMARY KEY ("project")
);

-- Each change of a checkpoint's counted bytes, added to its run's project. A checkpoint deleted
-- with its run (ON DELETE CASCADE) finds no run any more: the run's own trigger below subtracted
-- its checkpoints already, before the run went.
CREATE FUNCTION "count_checkpoint_bytes"() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
  v_delta BIGINT := 0;
  v_project TEXT;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD."status" <> 'DELETED' THEN
    v_delta := v_delta - OLD."bytes";
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW."status" <> 'DELETED' THEN
    v_delta := v_delta + NEW."bytes";
  END IF;
  IF v_delta = 0 THEN
    RETURN NULL;
  END IF;
  SELECT "project" INTO v_project FROM "runs" WHERE "id" = coalesce(NEW."run_id", OLD."run_id");
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  INSERT INTO "project_storage" ("project", "checkpoint_bytes") VALUES (v_project, v_delta)
  ON CONFLICT ("project") DO UPDATE
    SET "checkpoint_bytes" = "project_storage"."checkpoint_bytes" + EXCLUDED."checkpoint_bytes";
  RETURN NULL;
END $$;

-- A run deleted takes its checkpoints' bytes with it (they go by cascade, after it).
CREATE FUNCTION "uncount_run_checkpoint_bytes"() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
  v_bytes BIGINT;
BEGIN
  SELECT coalesce(sum("bytes"), 0) INTO v_bytes FROM "checkpoints"
  WHERE "run_id" = OLD."id" AND "status" <> 'DELETED';
  IF v_bytes <> 0 THEN
    UPDATE "project_storage" SET "checkpoint_bytes" = "checkpoint_bytes" - v_bytes WHERE "project" = OLD."project";
  END IF;
  RETURN OLD;
END $$;

-- The triggers first: they lock the tables against writes until this migration commits, so the
-- sums below see every checkpoint written before, and every one written after is counted by them.
CREATE TRIGGER "checkpoints_count_bytes"
AFTER INSERT OR UPDATE OF "status", "bytes" OR DELETE ON "checkpoints"
FOR EACH ROW EXECUTE FUNCTION "count_checkpoint_bytes"();

CREATE TRIGGER "runs_uncount_checkpoint_bytes"
BEFORE DELETE ON "runs"
FOR EACH ROW EXECUTE FUNCTION "uncount_run_checkpoint_bytes"();

INSERT INTO "project_storage" ("project", "checkpoint_bytes")
SELECT r."project", sum(c."bytes")
FROM "checkpoints" c JOIN "runs" r ON r."id" = c."run_id"
WHERE c."status" <> 'DELETED'
GROUP BY r."project";
