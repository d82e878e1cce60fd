import { Redis } from 'ioredis';
import { redact } from '@trainyard/config';
import { RedisEvictionPolicyError } from './redis-eviction-policy.error';
import { RedisUnavailableError } from './redis-unavailable.error';

/**
 * Fails within `timeoutMs` when Redis cannot answer PING. ioredis would otherwise retry forever
 * and a process would hang at boot with no hint why, so this probe uses its own client with
 * retries off and a hard deadline.
 */
export async function assertRedisReachable(url: string, timeoutMs: number): Promise<void> {
  const shown = redact(url);
  let probe: Redis;
  try {
    probe = new Redis(url, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      // ioredis waits this long for a socket it ended to close, keeping the process alive.
      disconnectTimeout: 100,
    });
  } catch (err) {
    throw new RedisUnavailableError(shown, timeoutMs, (err as Error).message);
  }
  // ioredis rejects with a bare "Connection is closed."; the socket's error (ECONNREFUSED,
  // ENOTFOUND, WRONGPASS…) is what tells a person what is wrong, and it arrives as an event.
  let socketError: unknown;
  probe.on('error', (err: unknown) => {
    socketError ??= err;
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
  });
  try {
    await Promise.race([probe.connect().then(() => probe.ping()), deadline]);
  } catch (err) {
    throw new RedisUnavailableError(shown, timeoutMs, describe(socketError ?? err));
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
