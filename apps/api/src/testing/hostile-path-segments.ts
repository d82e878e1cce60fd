/**
 * Path segments a client might send in place of an id, a name or a number, as they go on the wire
 * (already %-encoded where they are): traversal, encoded slashes, control characters, malformed
 * escapes, the names of Object.prototype's members, and lengths past a route's bounds and past the
 * HTTP server's header limit. A route must answer each with a 4xx, never a 500.
 */
export const HOSTILE_PATH_SEGMENTS: readonly string[] = [
  '..',
  '%2E%2E',
  '..%2F..%2Fetc',
  '%2F',
  'a%2Fb',
  'a%5Cb',
  '%00',
  'a%0Ab',
  '%1B%5B31m',
  '%E2%80%AE',
  '%',
  '%E0%A4%A',
  '__proto__',
  'constructor',
  'toString',
  '-1',
  '1e3',
  'x'.repeat(500),
  'x'.repeat(20_000),
];

/** `4xx` for 404, `5xx` for 500: what a hostile request's answer must be, as an assertion reads it. */
export const statusClass = (status: number): string => `${Math.floor(status / 100)}xx`;
