/** Runs a worker remembers the last give-back line of (the oldest forgotten first): a bound, whatever the queue holds. */
const REMEMBERED_RUNS = 1000;

/**
 * What a worker said when it last gave a run's job back (no memory for it, or a backend that
 * cannot hold it). A job given back comes round again every few seconds (WORKER_WAIT_ELSEWHERE_MS) until
 * a worker that can train it takes it, and the worker's log got the same line each time: it is
 * logged once per run, and again only when the answer changes (other workers take the class now,
 * the worker lacks the memory rather than the backend).
 */
export class GiveBackLines {
  private readonly said = new Map<string, string>();

  constructor(private readonly capacity = REMEMBERED_RUNS) {}

  /** Whether `line` about `runId` is news (to be logged), remembering it as said. */
  news(runId: string, line: string): boolean {
    const news = this.said.get(runId) !== line;
    // Re-inserted every time, so the runs still coming round are the last forgotten.
    this.said.delete(runId);
    this.said.set(runId, line);
    if (this.said.size > this.capacity) this.said.delete(this.said.keys().next().value!);
    return news;
  }

  /** The run was taken past the give-back (its attempt opens here): a later give-back is news again. */
  forget(runId: string): void {
    this.said.delete(runId);
  }
}
