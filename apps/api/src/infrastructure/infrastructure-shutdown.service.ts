import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Database } from '@trainyard/db';
import type { TrainingQueue } from '@trainyard/queue';
import type { Redis } from 'ioredis';
import type { ApiOptions } from '../config/api-options';
import { API_OPTIONS } from '../config/config.tokens';
import { DATABASE, REDIS_CONNECTION, TRAINING_QUEUE } from './infrastructure.tokens';

/**
 * Closes connections in dependency order on app.close() or a signal: the queue first (it uses
 * the Redis connection but does not own it), then Redis, then the database.
 */
@Injectable()
export class InfrastructureShutdown implements OnApplicationShutdown {
  private readonly logger = new Logger(InfrastructureShutdown.name);

  constructor(
    @Inject(TRAINING_QUEUE) private readonly queue: TrainingQueue,
    @Inject(REDIS_CONNECTION) private readonly redis: Redis,
    @Inject(DATABASE) private readonly database: Database,
    @Inject(API_OPTIONS) private readonly options: ApiOptions,
  ) {}

  async onApplicationShutdown(signal?: string): Promise<void> {
    if (signal) this.logger.log(`Received ${signal}; closing connections`);
    // Each step runs even if an earlier one failed, so one broken connection leaks no others.
    await this.step('queue', () => this.queue.close());
    await this.step('redis', async () => {
      // disconnect() on an already ended connection arms a 2 s timer that keeps the process alive.
      if (this.redis.status === 'end') return;
      await this.redis.quit().catch(() => this.redis.disconnect());
    });
    // A database handed in by the caller (the demo shares its embedded one with a worker) is the caller's to close.
    if (!this.options.database) await this.step('database', () => this.database.close());
  }

  private async step(what: string, close: () => Promise<unknown>): Promise<void> {
    try {
      await close();
    } catch (err) {
      this.logger.warn(`Closing ${what} failed: ${(err as Error).message}`);
    }
  }
}
