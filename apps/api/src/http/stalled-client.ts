import type { ServerResponse } from 'node:http';

/**
 * Ends a long answer (a followed log, an event stream, every metric point, a checkpoint download)
 * whose client has taken none of its bytes for `ms` (STALLED_CLIENT_MS), so it gives back its place
 * under the stream limits and what it holds (a store stream, pages of points). Node's socket idle
 * timeout: any byte read or written resets it and a write still draining holds it off, so a slow
 * reader is never cut, only one that stopped. `onStalled` says why before the socket goes.
 */
export function endIfStalled(res: ServerResponse, ms: number, onStalled: () => void): void {
  res.setTimeout(ms, () => {
    onStalled();
    res.destroy();
  });
}
