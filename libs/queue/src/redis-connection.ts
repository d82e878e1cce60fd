import { Redis } from 'ioredis';

export interface RedisConnectionOptions {
  /** BullMQ workers block on Redis commands; they need `maxRetriesPerRequest: null` or BullMQ refuses them. */
  forWorker?: boolean;
  connectTimeoutMs?: number;
}

/**
 * One ioredis client per role (API queue, worker, events). The API side fails a command after
 * one reconnection attempt so a request answers 503 quickly instead of hanging while Redis is down.
 */
export function createRedisConnection(url: string, opts: RedisConnectionOptions = {}): Redis {
  return new Redis(url, {
    connectTimeout: opts.connectTimeoutMs ?? 5000,
    maxRetriesPerRequest: opts.forWorker ? null : 1,
  });
}
