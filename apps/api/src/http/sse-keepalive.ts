import type { ServerResponse } from 'node:http';

/** Keeps proxies from closing an idle stream, and lets a dead client be noticed. */
export const SSE_KEEPALIVE_MS = 15_000;

/**
 * Writes an SSE comment every SSE_KEEPALIVE_MS until the returned function is called; at least
 * twice within `stalledMs` (STALLED_CLIENT_MS), so an idle stream whose client reads is never
 * taken for a stalled one.
 */
export function keepSseAlive(res: ServerResponse, stalledMs: number): () => void {
  const timer = setInterval(() => res.write(': keepalive\n\n'), Math.min(SSE_KEEPALIVE_MS, stalledMs / 2));
  return () => clearInterval(timer);
}
