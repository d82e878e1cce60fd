import type Redis from 'ioredis';

/**
 * The longest a check waits for Redis's PING: below the probes' usual 1 s timeout (Kubernetes'
 * default), so a stalled Redis reads as not ready rather than as a probe that timed out.
 */
export const REDIS_PING_DEADLINE_MS = 800;

/**
 * Why Redis does not answer on `redis`, or null when it answers a PING within
 * REDIS_PING_DEADLINE_MS. A connection that is not ready is not pinged: the command would only queue.
 */
export async function redisProblem(redis: Redis): Promise<string | null> {
  if (redis.status !== 'ready') return `connection ${redis.status}`;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer to PING within ${REDIS_PING_DEADLINE_MS} ms`), REDIS_PING_DEADLINE_MS);
  });
  try {
    return await Promise.race([
      redis.ping().then(
        () => null,
        (error: Error) => `PING failed: ${error.message}`,
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
