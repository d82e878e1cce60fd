/**
 * The backstop of a process's shutdown deadline, armed at the first of `signals`: `afterMs` later
 * the process exits (1), after `warn(message)`, whatever its shutdown still waits on. pg's pool,
 * ending a query that a silent PostgreSQL never answers, waits out its query deadline (30 s by
 * default), and an HTTP server's close waits for the requests in flight on it. The timer does not
 * keep the process alive: a shutdown done sooner ends as it always did.
 */
export function exitAfterShutdownSignal(
  afterMs: number,
  message: string,
  warn: (message: string) => void,
  signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
  exit: () => void = () => process.exit(1),
): void {
  const arm = () => {
    for (const signal of signals) process.off(signal, arm);
    setTimeout(() => {
      warn(message);
      exit();
    }, afterMs).unref();
  };
  for (const signal of signals) process.once(signal, arm);
}
