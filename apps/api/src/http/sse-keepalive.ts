import type { ServerResponse } from 'node:http';

/** Keeps proxies from closing an idle stream, and lets a dead client be noticed. */
export const SSE_KEEPALIVE_MS = 15_000;

/** Writes an SSE comment every SSE_KEEPALIVE_MS until the returned function is called. */
export function keepSseAlive(res: ServerResponse): () => void {
  const timer = setInterval(() => res.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
  return () => clearInterval(timer);
}
