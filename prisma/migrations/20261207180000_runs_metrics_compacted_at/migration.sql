-- metric_points grew without bound (about 204 bytes a point with its indexes: 6 GB a day at 3,000
-- runs of 10 metrics over 1,000 steps). The live workers' reconciler now compacts an ended run's
-- points METRIC_POINTS_COMPACT_AFTER_MS after it ended: of every 256-step block of a series (a
-- metric_rollups row) holding more than 4 points, only those at the block's first, min, max and
-- last step stay; the summaries and rollups stay as they were. This column records when, so the
-- run is compacted once and readers can say that its raw series is no longer every step.
--
-- A nullable column with no default: a catalog change, no table rewrite. The partial index holds
-- only the ended runs not yet compacted, so finding work never reads the compacted history; every
-- run ended before this migration is in it at first (the backlog, oldest first, a few a pass).
-- Plain CREATE INDEX in the migration's transaction, like every other: its build holds off writes
-- to "runs" for as long as it reads the table (as runs_awaiting_orphan_sweep_idx: 86 ms at 200,000 runs).
ALTER TABLE "runs" ADD COLUMN "metrics_compacted_at" TIMESTAMPTZ(3);
CREATE INDEX "runs_awaiting_metrics_compaction_idx" ON "runs"("ended_at", "id")
  WHERE "ended_at" IS NOT NULL AND "metrics_compacted_at" IS NULL;
