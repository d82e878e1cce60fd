import { STORE_WAIT_FIRST_DEFAULT_MS, STORE_WAIT_MAX_MS } from '@trainyard/config';
import type { StoreOutage } from '@trainyard/db';

/** How long a run's job waits before its next try at a store it could not reach, and which try that is. */
export interface StoreWait {
  delayMs: number;
  /** 1 for the first try after the outage began. */
  tries: number;
}

/**
 * Whether an attempt that could not reach the object store waits for it (its job given back,
 * delayed, its attempt not counted against WORKER_MAX_ATTEMPTS), and how long: `firstMs`
 * (WORKER_STORE_WAIT_FIRST_MS, 10 s unless set), then 20 s, 40 s… up to STORE_WAIT_MAX_MS, for as
 * long as `patienceMs` since the outage's first attempt started (`outage`, null when this attempt
 * is its first). Null once the patience is spent (0: none at all): then the failure counts as any other.
 */
export function storeWait(
  outage: StoreOutage | null,
  nowMs: number,
  patienceMs: number,
  firstMs: number = STORE_WAIT_FIRST_DEFAULT_MS,
): StoreWait | null {
  const waits = outage?.waits ?? 0;
  const since = outage?.since.getTime() ?? nowMs;
  if (patienceMs <= 0 || nowMs - since >= patienceMs) return null;
  return { delayMs: Math.min(firstMs * 2 ** waits, STORE_WAIT_MAX_MS), tries: waits + 1 };
}
