-- The reconciler gives each ended run one last orphan-checkpoint sweep. It walked them from a
-- position kept in Redis: a Redis restarted without persistence lost it, the walk started again two
-- intervals back, and the runs of a larger burst not yet reached were never swept (their orphan
-- folders stayed in the store for good). The walk is now "ended before the grace period and not yet
-- swept", marked here in PostgreSQL, the truth, with no position at all.
--
-- A nullable column with no default: a catalog change, no table rewrite, its ACCESS EXCLUSIVE lock
-- held for an instant. Every run ended before this migration is "not yet swept" and gets its last
-- sweep again (one store listing each, deleting only folders no row names), oldest first at the
-- sweep's page a pass (500: 200,000 ended runs in 400 passes); runs a Redis restart had skipped are
-- swept at last. Plain CREATE INDEX in the migration's transaction, like every other: its build
-- holds off writes to "runs" for as long as it reads the table: 86 ms at 200,000 runs (160,000
-- ended, 142 MB; docs/operations.md). The partial index holds only the runs awaiting their sweep,
-- so it shrinks to the few ended in the last minutes once the backlog is done.
ALTER TABLE "runs" ADD COLUMN "orphans_swept_at" TIMESTAMPTZ(3);
CREATE INDEX "runs_awaiting_orphan_sweep_idx" ON "runs"("ended_at", "id")
  WHERE "ended_at" IS NOT NULL AND "orphans_swept_at" IS NULL;
