/**
 * Redis's reply to a write once its memory reaches `maxmemory` under `noeviction` (the policy
 * BullMQ needs): reads and PING still answer, every write (a job added, moved, a lock renewed) is
 * refused, at once, until memory is freed or `maxmemory` raised.
 */
const REDIS_FULL = /OOM command not allowed when used memory > 'maxmemory'/;

/** Whether `error` (or a message, e.g. a recorded failure reason) is Redis refusing a write because it is full. */
export function isRedisFull(error: unknown): boolean {
  const message = typeof error === 'string' ? error : error instanceof Error ? error.message : '';
  return REDIS_FULL.test(message);
}

/** What a person reads when Redis is full: what it means, and what frees it. */
export const REDIS_FULL_MEANING =
  'Redis is full (it reached its maxmemory and, under the noeviction policy, refuses writes until memory is freed or maxmemory is raised)';
