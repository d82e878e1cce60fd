/** Redis could not be reached at boot; the message tells a person how to get one running. */
export class RedisUnavailableError extends Error {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
    reason: string,
  ) {
    super(
      `Redis is not reachable at ${url} within ${timeoutMs} ms (${reason}). ` +
        'Trainyard needs Redis for its job queue: start Redis: `redis-server --daemonize yes` ' +
        'or `docker compose up -d redis`, or set REDIS_URL.',
    );
    this.name = 'RedisUnavailableError';
  }
}
