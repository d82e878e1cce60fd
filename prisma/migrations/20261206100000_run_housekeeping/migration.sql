-- Housekeeping (issue 11): runs get tags (filtered with @>, so a GIN index), Markdown notes and an
-- archive mark that hides them from lists. Expand-only: the previous release neither reads nor
-- writes these columns, and the defaults keep its inserts valid.
ALTER TABLE "runs" ADD COLUMN "tags" TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE "runs" ADD COLUMN "notes" TEXT;
ALTER TABLE "runs" ADD COLUMN "archived_at" TIMESTAMPTZ(3);
CREATE INDEX "runs_tags_idx" ON "runs" USING GIN ("tags");
