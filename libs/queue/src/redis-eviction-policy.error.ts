/**
 * BullMQ keeps jobs and locks as ordinary keys; a Redis that evicts keys under memory pressure
 * silently loses queued runs, so Trainyard refuses to start against one.
 */
export class RedisEvictionPolicyError extends Error {
  constructor(readonly policy: string) {
    super(
      `Redis maxmemory-policy is "${policy}", but BullMQ needs "noeviction" or queued jobs can vanish. ` +
        'Run `redis-cli CONFIG SET maxmemory-policy noeviction` (and set it in redis.conf).',
    );
    this.name = 'RedisEvictionPolicyError';
  }
}
