import { Module, type DynamicModule } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import {
  AttemptsRepository,
  CheckpointsRepository,
  MetricsRepository,
  RunsRepository,
  WorkersRepository,
  openDatabase,
  type Database,
} from '@trainyard/db';
import { createRedisConnection } from '@trainyard/queue';
import { TrainingProcessor } from './training.processor';
import { WorkerHost } from './worker-host.service';
import { CONFIG, DATABASE, REDIS, WORKER_OPTIONS, type WorkerOptions } from './worker.tokens';

const repository = <T>(Repo: new (prisma: Database['prisma']) => T) => ({
  provide: Repo,
  inject: [DATABASE],
  useFactory: (db: Database) => new Repo(db.prisma),
});

@Module({})
export class WorkerModule {
  /**
   * `database` lets the demo share one embedded PGlite between the API and the worker in one
   * process (PGlite is single-process); otherwise the worker opens its own connection.
   */
  static register(config: TrainyardConfig, options: WorkerOptions, database?: Database): DynamicModule {
    return {
      module: WorkerModule,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: WORKER_OPTIONS, useValue: options },
        database
          ? { provide: DATABASE, useValue: database }
          : { provide: DATABASE, useFactory: () => openDatabase(config.database) },
        {
          provide: REDIS,
          useFactory: () => createRedisConnection(config.redis.url, { forWorker: true }),
        },
        repository(RunsRepository),
        repository(AttemptsRepository),
        repository(MetricsRepository),
        repository(CheckpointsRepository),
        repository(WorkersRepository),
        TrainingProcessor,
        WorkerHost,
      ],
    };
  }
}
