import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createRedisConnection } from '../redis-connection';
import type { TrainingQueue } from '../training-queue';
import { TrainingQueues } from '../training-queues';

export const TEST_REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

interface TestQueues {
  /** The deployment's queues, one per resource class, named `test-<uuid>[-cpu|-gpu]`. */
  readonly queues: TrainingQueues;
  /** The `any` class's queue (the one the deployment's name names). */
  readonly queue: TrainingQueue;
  readonly connection: Redis;
}

/**
 * Gives every test of the calling suite training queues of its own (`test-<uuid>`, one per
 * resource class) on the real Redis, emptied and closed after the test. Read the fields inside
 * tests, not at the suite's top level: they are new for each test.
 */
export function eachTestQueue(): TestQueues {
  let current: { queues: TrainingQueues; connection: Redis } | undefined;
  beforeEach(() => {
    const connection = createRedisConnection(TEST_REDIS_URL);
    current = { connection, queues: new TrainingQueues(connection, `test-${randomUUID()}`) };
  });
  afterEach(async () => {
    const { queues, connection } = current!;
    current = undefined;
    for (const [, queue] of queues.entries()) await queue.obliterate({ force: true });
    await queues.close();
    await connection.quit();
  });
  return {
    get queues() {
      return current!.queues;
    },
    get queue() {
      return current!.queues.of('any');
    },
    get connection() {
      return current!.connection;
    },
  };
}
