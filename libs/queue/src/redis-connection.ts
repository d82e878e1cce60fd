import { Redis } from 'ioredis';

export interface RedisConnectionOptions {
  /** BullMQ workers block on Redis commands; they need `maxRetriesPerRequest: null` or BullMQ refuses them. */
  forWorker?: boolean;
  connectTimeoutMs?: number;
  /**
   * Fails any command not answered within this time ("Command timed out"). For connections that
   * never block (the API's): with it, a Redis that accepts connections and never answers costs a
   * request this long at most. Never on a BullMQ worker's connection, whose commands block by design.
   */
  commandTimeoutMs?: number;
}

/**
 * One ioredis client per role (API queue, worker, events). The API side fails a command after
 * one reconnection attempt so a request answers 503 quickly instead of hanging while Redis is down.
 */
export function createRedisConnection(url: string, opts: RedisConnectionOptions = {}): Redis {
  return new Redis(url, {
    connectTimeout: opts.connectTimeoutMs ?? 5000,
    maxRetriesPerRequest: opts.forWorker ? null : 1,
    ...(opts.commandTimeoutMs === undefined ? {} : { commandTimeout: opts.commandTimeoutMs }),
  });
}
