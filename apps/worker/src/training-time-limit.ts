/** Why a run is stopped for its training time (QUOTA_RUN_TRAINING_HOURS): the run's failure reason. */
export function trainingTimeExceeded(limitHours: number, usedMs: number, checkpointed: boolean): string {
  return (
    `its training time passed its limit (QUOTA_RUN_TRAINING_HOURS=${limitHours}, ${duration(limitHours * 3_600_000)}): ` +
    `${duration(usedMs)} over its attempts` +
    (checkpointed
      ? '; it was stopped at its next batch as a preemption is (its position checkpointed if it had trained since its last checkpoint), and its checkpoints are kept (fine-tune or evaluate from them, or submit it again with a smaller budget)'
      : '')
  );
}

function duration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
