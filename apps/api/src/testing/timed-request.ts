import type { TestApi } from './test-api';

/** An answer of the test API: status (0 when given up), time taken and parsed JSON body. */
export interface TimedAnswer {
  status: number;
  ms: number;
  body: Record<string, unknown>;
}

/**
 * One request to the test API (with its admin key), and how long it took; given up after
 * `giveUpAfterMs` (status 0), so that a request that hangs fails the test on its own deadline
 * rather than on Jest's.
 */
export async function timedRequest(
  api: TestApi,
  giveUpAfterMs: number,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<TimedAnswer> {
  const started = Date.now();
  try {
    const res = await api.fetch(`${api.baseUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(giveUpAfterMs),
    });
    const text = await res.text();
    return { status: res.status, ms: Date.now() - started, body: text ? JSON.parse(text) : {} };
  } catch {
    return { status: 0, ms: Date.now() - started, body: {} };
  }
}
