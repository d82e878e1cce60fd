import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Database } from '@trainyard/db';
import type { TrainingQueues } from '@trainyard/queue';
import type { Redis } from 'ioredis';
import { DATABASE, REDIS, TRAINING_QUEUES } from './infrastructure.tokens';

export const OWNS_DATABASE = Symbol('OwnsDatabase');
const REDIS_QUIT_WAIT_MS = 2000;

/**
 * Closes connections in dependency order on app.close() or a signal, after every
 * beforeApplicationShutdown hook (the worker's drain) has run: the queue first (it uses the
 * Redis connection but does not own it), then Redis, then the database.
 */
@Injectable()
export class InfrastructureShutdown implements OnApplicationShutdown {
  private readonly logger = new Logger(InfrastructureShutdown.name);

  constructor(
    @Inject(TRAINING_QUEUES) private readonly queues: TrainingQueues,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(DATABASE) private readonly database: Database,
    @Inject(OWNS_DATABASE) private readonly ownsDatabase: boolean,
  ) {}

  async onApplicationShutdown(signal?: string): Promise<void> {
    if (signal) this.logger.log(`Received ${signal}; closing connections`);
    // Each step runs even if an earlier one failed, so one broken connection leaks no others.
    await this.step('queue', () => this.queues.close());
    await this.step('redis', async () => {
      // disconnect() on an already ended connection arms a 2 s timer that keeps the process alive.
      if (this.redis.status === 'end') return;
      // quit() waits for pending replies, and a worker's connection retries forever: a Redis that
      // is down would hold shutdown, so after a short wait the connection is dropped.
      const quit = this.redis.quit().then(
        () => true,
        () => false,
      );
      const waited = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), REDIS_QUIT_WAIT_MS).unref());
      if (!(await Promise.race([quit, waited])) && (this.redis.status as string) !== 'end') this.redis.disconnect();
    });
    // A database handed in by the caller (the demo shares its embedded one between API and worker) is the caller's to close.
    if (this.ownsDatabase) await this.step('database', () => this.database.close());
  }

  private async step(what: string, close: () => Promise<unknown>): Promise<void> {
    try {
      await close();
    } catch (err) {
      this.logger.warn(`Closing ${what} failed: ${(err as Error).message}`);
    }
  }
}
