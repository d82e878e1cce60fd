import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createRedisConnection } from '../redis-connection';
import { createTrainingQueue, type TrainingQueue } from '../training-queue';

export const TEST_REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/**
 * Gives every test of the calling suite a training queue of its own (`test-<uuid>`) on the real
 * Redis, emptied and closed after the test. Read `queue` and `connection` inside tests, not at
 * the suite's top level: they are new for each test.
 */
export function eachTestQueue(): { readonly queue: TrainingQueue; readonly connection: Redis } {
  let current: { queue: TrainingQueue; connection: Redis } | undefined;
  beforeEach(() => {
    const connection = createRedisConnection(TEST_REDIS_URL);
    current = { connection, queue: createTrainingQueue(connection, `test-${randomUUID()}`) };
  });
  afterEach(async () => {
    const { queue, connection } = current!;
    current = undefined;
    await queue.obliterate({ force: true });
    await queue.close();
    await connection.quit();
  });
  return {
    get queue() {
      return current!.queue;
    },
    get connection() {
      return current!.connection;
    },
  };
}
