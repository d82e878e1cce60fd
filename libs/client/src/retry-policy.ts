/** How a client retries answers that say "later": 429 (rate limited) and 503 (a dependency is away). */
export interface RetryPolicy {
  /** Retries after the first try; 0 turns retrying off. */
  retries: number;
  /** The longest wait between tries, whatever Retry-After asks: a script should not hang for an hour. */
  maxDelayMs: number;
  /** The first wait when the answer has no Retry-After; doubled at each retry. */
  baseDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 3, maxDelayMs: 30_000, baseDelayMs: 500 };

/** `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The wait before retry number `retry` (0-based): what the server asked for, else exponential, both capped. */
export function retryDelayMs(policy: RetryPolicy, retry: number, retryAfter: string | null): number {
  const asked = retryAfterMs(retryAfter);
  return Math.min(policy.maxDelayMs, asked ?? policy.baseDelayMs * 2 ** retry);
}

/**
 * Waits `ms`, or rejects with the signal's reason as soon as it aborts. Plain `setTimeout`, not
 * node:timers/promises, so the module runs in a browser as it is.
 */
export function waitOrAbort(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What an aborted wait rejects with: the signal's reason, an `AbortError` DOMException unless one was given. */
function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
