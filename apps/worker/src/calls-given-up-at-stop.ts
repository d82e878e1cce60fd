/**
 * Calls in flight that a stopping worker stops waiting for: once the stop comes (`stop`), or at a
 * call's start if it comes later, each call still unanswered `afterMs()` later has its `giveUp` run,
 * unless it settled first. The call itself goes on; only the waiting for it ends. DatabasePatience
 * watches its tries with it, CheckpointRetention its object-store calls.
 */
export class CallsGivenUpAtStop {
  private stopped = false;
  /** What starts the clock of each call in flight, once the stop comes. */
  private readonly inFlight = new Set<() => void>();

  /** The stop: the clock of every call in flight starts now, and a later call's at its start. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const arm of this.inFlight) arm();
  }

  watch(tried: Promise<unknown>, afterMs: () => number, giveUp: () => void): void {
    let timer: NodeJS.Timeout | undefined;
    const arm = () => void (timer = setTimeout(giveUp, Math.max(0, afterMs())).unref());
    const settled = () => {
      clearTimeout(timer);
      this.inFlight.delete(arm);
    };
    if (this.stopped) arm();
    else this.inFlight.add(arm);
    tried.then(settled, settled);
  }
}
