-- The reconciler's final orphan-checkpoint sweep asks every pass for the runs that ended in a
-- short window (CheckpointsRepository.endedBetween); without this it scans every terminal run.
CREATE INDEX "runs_ended_at_idx" ON "runs"("ended_at");
