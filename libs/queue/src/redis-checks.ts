import { Redis } from 'ioredis';
import { redact } from '@trainyard/config';
import { RedisEvictionPolicyError } from './redis-eviction-policy.error';
import { RedisUnavailableError } from './redis-unavailable.error';

/** How long a start waits between two tries to reach Redis. */
const RETRY_EVERY_MS = 250;

/**
 * Waits up to `timeoutMs` for Redis to answer PING, trying again every RETRY_EVERY_MS while it
 * cannot be reached (refused, not resolved yet, still loading its data): a Redis that starts beside
 * the process (compose, a pod) is waited for, not a reason to stop. Then fails, naming the last
 * reason; at once for an answer no wait will change (a wrong password). ioredis would otherwise
 * retry forever and a process would hang at boot with no hint why, so each try uses its own client
 * with retries off and the deadline's remaining time.
 */
export async function assertRedisReachable(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failure = await pingOnce(url, deadline - Date.now());
    if (failure === null) return;
    const left = deadline - Date.now();
    if (!failure.transient || left <= RETRY_EVERY_MS)
      throw new RedisUnavailableError(redact(url), timeoutMs, failure.reason);
    await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
  }
}

/** Connection failures a Redis that is starting gives; anything else is its answer. */
const TRANSIENT =
  /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|LOADING|timed out|Connection is closed/;

/** One PING within `timeoutMs`: null when Redis answered, else why not. */
async function pingOnce(url: string, timeoutMs: number): Promise<{ reason: string; transient: boolean } | null> {
  let probe: Redis;
  try {
    probe = new Redis(url, {
      lazyConnect: true,
      connectTimeout: Math.max(1, timeoutMs),
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      // ioredis waits this long for a socket it ended to close, keeping the process alive.
      disconnectTimeout: 100,
    });
  } catch (err) {
    return { reason: describe(err), transient: false };
  }
  // ioredis rejects with a bare "Connection is closed."; the socket's error (ECONNREFUSED,
  // ENOTFOUND, WRONGPASS…) is what tells a person what is wrong, and it arrives as an event.
  let socketError: unknown;
  probe.on('error', (err: unknown) => {
    socketError ??= err;
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), Math.max(1, timeoutMs));
  });
  try {
    await Promise.race([probe.connect().then(() => probe.ping()), deadline]);
    return null;
  } catch (err) {
    const reason = describe(socketError ?? err);
    return { reason, transient: TRANSIENT.test(reason) };
  } finally {
    clearTimeout(timer);
    if (probe.status === 'ready') await probe.quit().catch(() => probe.disconnect());
    else probe.disconnect();
  }
}

/**
 * Refuses a Redis whose `maxmemory-policy` is not `noeviction`. Managed Redis services often
 * forbid CONFIG; then the policy cannot be known, so warn and carry on rather than refuse to run.
 */
export async function assertNoEviction(
  connection: Redis,
  warn: (message: string) => void = (m) => console.warn(m),
): Promise<void> {
  let reply: unknown;
  try {
    reply = await connection.config('GET', 'maxmemory-policy');
  } catch (err) {
    warn(
      `Could not read Redis maxmemory-policy (${describe(err)}); make sure it is "noeviction" or queued jobs can be lost.`,
    );
    return;
  }
  const policy = Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : undefined;
  if (policy === undefined) {
    warn('Redis did not report maxmemory-policy; make sure it is "noeviction" or queued jobs can be lost.');
    return;
  }
  if (policy !== 'noeviction') throw new RedisEvictionPolicyError(policy);
}

function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) return describe(err.errors[0]);
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
