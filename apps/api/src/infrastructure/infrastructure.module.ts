import { Global, Logger, Module } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import {
  ApiKeysRepository,
  CheckpointsRepository,
  DatasetsRepository,
  IdempotencyKeysRepository,
  MetricsRepository,
  ModelVersionsRepository,
  openDatabase,
  PipelinesRepository,
  ProjectsRepository,
  RunsRepository,
  SweepsRepository,
  WorkersRepository,
  type Database,
} from '@trainyard/db';
import { assertNoEviction, createRedisConnection, createTrainingQueue } from '@trainyard/queue';
import { createObjectStore } from '@trainyard/storage';
import type { Redis } from 'ioredis';
import type { ApiOptions } from '../config/api-options';
import { API_OPTIONS, TRAINYARD_CONFIG } from '../config/config.tokens';
import { InfrastructureShutdown } from './infrastructure-shutdown.service';
import { DATABASE, OBJECT_STORE, REDIS_CONNECTION, TRAINING_QUEUE } from './infrastructure.tokens';

/**
 * Every I/O adapter the API uses, built once per app from the config. Repositories are plain
 * classes from libs/db (shared with the worker), so they are provided by factory, not decorated.
 */
@Global()
@Module({
  providers: [
    {
      provide: DATABASE,
      inject: [TRAINYARD_CONFIG, API_OPTIONS],
      useFactory: (config: TrainyardConfig, options: ApiOptions) =>
        options.database ?? openDatabase(config.database, { migrate: config.migrations.onStart, log: (line) => new Logger('Database').log(line) }),
    },
    {
      provide: REDIS_CONNECTION,
      inject: [TRAINYARD_CONFIG],
      useFactory: async (config: TrainyardConfig) => {
        const connection = createRedisConnection(config.redis.url, { connectTimeoutMs: config.redis.connectTimeoutMs });
        const logger = new Logger('Redis');
        connection.on('error', (err: Error) => logger.warn(`Redis connection error: ${err.message}`));
        await assertNoEviction(connection, (m) => logger.warn(m));
        return connection;
      },
    },
    {
      provide: TRAINING_QUEUE,
      inject: [REDIS_CONNECTION, API_OPTIONS, TRAINYARD_CONFIG],
      useFactory: (connection: Redis, options: ApiOptions, config: TrainyardConfig) =>
        createTrainingQueue(connection, options.queueName ?? config.queue.name),
    },
    {
      provide: OBJECT_STORE,
      inject: [TRAINYARD_CONFIG],
      useFactory: (config: TrainyardConfig) => createObjectStore(config.storage),
    },
    { provide: RunsRepository, inject: [DATABASE], useFactory: (db: Database) => new RunsRepository(db.prisma) },
    { provide: MetricsRepository, inject: [DATABASE], useFactory: (db: Database) => new MetricsRepository(db.prisma) },
    { provide: CheckpointsRepository, inject: [DATABASE], useFactory: (db: Database) => new CheckpointsRepository(db.prisma) },
    { provide: IdempotencyKeysRepository, inject: [DATABASE], useFactory: (db: Database) => new IdempotencyKeysRepository(db.prisma) },
    { provide: DatasetsRepository, inject: [DATABASE], useFactory: (db: Database) => new DatasetsRepository(db.prisma) },
    { provide: ModelVersionsRepository, inject: [DATABASE], useFactory: (db: Database) => new ModelVersionsRepository(db.prisma) },
    { provide: PipelinesRepository, inject: [DATABASE], useFactory: (db: Database) => new PipelinesRepository(db.prisma) },
    { provide: SweepsRepository, inject: [DATABASE], useFactory: (db: Database) => new SweepsRepository(db.prisma) },
    { provide: ApiKeysRepository, inject: [DATABASE], useFactory: (db: Database) => new ApiKeysRepository(db.prisma) },
    { provide: ProjectsRepository, inject: [DATABASE], useFactory: (db: Database) => new ProjectsRepository(db.prisma) },
    { provide: WorkersRepository, inject: [DATABASE], useFactory: (db: Database) => new WorkersRepository(db.prisma) },
    InfrastructureShutdown,
  ],
  exports: [
    DATABASE,
    REDIS_CONNECTION,
    TRAINING_QUEUE,
    OBJECT_STORE,
    RunsRepository,
    MetricsRepository,
    CheckpointsRepository,
    IdempotencyKeysRepository,
    DatasetsRepository,
    ModelVersionsRepository,
    PipelinesRepository,
    SweepsRepository,
    ApiKeysRepository,
    ProjectsRepository,
    WorkersRepository,
  ],
})
export class InfrastructureModule {}
