import { Global, Logger, Module, type DynamicModule, type Provider } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import {
  ApiKeySessionsRepository,
  ApiKeysRepository,
  AttemptsRepository,
  AttemptWritesRepository,
  CatalogListsRepository,
  CheckpointsRepository,
  DatasetsRepository,
  IdempotencyKeysRepository,
  MetricCompactionRepository,
  MetricsRepository,
  ModelVersionsRepository,
  openDatabase,
  PipelinesRepository,
  ProjectsRepository,
  ReconciliationRepository,
  RunHousekeepingRepository,
  RunReferencesResolver,
  RunsRepository,
  SweepsRepository,
  UploadReservationsRepository,
  WorkersRepository,
  type Database,
} from '@trainyard/db';
import { assertNoEviction, TrainingQueues } from '@trainyard/queue';
import { createObjectStore, type ObjectStore } from '@trainyard/storage';
import type { Redis } from 'ioredis';
import { InfrastructureShutdown, OWNS_DATABASE } from './infrastructure-shutdown.service';
import { CONFIG, DATABASE, OBJECT_STORE, REDIS, TRAINING_QUEUES } from './infrastructure.tokens';
import { logQueueErrors, openRedisConnection } from './redis-reachability';

export interface InfrastructureOptions {
  /**
   * `api`: Redis commands fail fast (a request must not hang) and an evicting Redis refuses the
   * app at creation; `worker`: commands wait for a reconnect, as a BullMQ Worker requires (the
   * worker refuses an evicting Redis itself, before it consumes).
   */
  role: 'api' | 'worker';
  /** The BullMQ queue to use; tests give each suite its own. */
  queueName: string;
  /** An open database to share (the demo's embedded PGlite allows one opener per process); its owner closes it. */
  database?: Database;
}

/** Every repository of libs/db: plain classes over the Prisma client, provided by factory under their own class. */
const REPOSITORIES = [
  ApiKeySessionsRepository,
  ApiKeysRepository,
  AttemptsRepository,
  AttemptWritesRepository,
  CatalogListsRepository,
  CheckpointsRepository,
  DatasetsRepository,
  IdempotencyKeysRepository,
  MetricCompactionRepository,
  MetricsRepository,
  ModelVersionsRepository,
  PipelinesRepository,
  ProjectsRepository,
  ReconciliationRepository,
  RunHousekeepingRepository,
  RunsRepository,
  SweepsRepository,
  UploadReservationsRepository,
  WorkersRepository,
] as const;

/**
 * The I/O adapters the API and the worker share, built once per app from the config: the
 * database, Redis, the training queue, the object store, every repository and the run reference
 * resolver, under one set of tokens. Each app adds only what is its own.
 */
@Global()
@Module({})
export class InfrastructureModule {
  static forRoot(config: TrainyardConfig, options: InfrastructureOptions): DynamicModule {
    const providers: Provider[] = [
      { provide: CONFIG, useValue: config },
      { provide: OWNS_DATABASE, useValue: !options.database },
      {
        provide: DATABASE,
        useFactory: () =>
          options.database ??
          openDatabase(config.database, {
            migrate: config.migrations.onStart,
            applicationName: `trainyard-${options.role}`,
            log: (line) => new Logger('Database').log(line),
          }),
      },
      {
        provide: REDIS,
        useFactory: async () => {
          const logger = new Logger('Redis');
          // Its failures (and those of the connections BullMQ duplicates from it) are logged once per outage.
          const connection = openRedisConnection(config.redis.url, {
            connectTimeoutMs: config.redis.connectTimeoutMs,
            forWorker: options.role === 'worker',
            // The API's commands never block: each is bounded, so a stalled Redis cannot hang a request.
            ...(options.role === 'api' ? { commandTimeoutMs: config.redis.connectTimeoutMs } : {}),
          });
          if (options.role === 'api') await assertNoEviction(connection, (m) => logger.warn(m));
          return connection;
        },
      },
      {
        provide: TRAINING_QUEUES,
        inject: [REDIS],
        useFactory: (redis: Redis) => {
          const queues = new TrainingQueues(redis, options.queueName);
          const logger = new Logger('TrainingQueues');
          for (const [, queue] of queues.entries()) logQueueErrors(queue, logger, `queue ${queue.name}`);
          return queues;
        },
      },
      { provide: OBJECT_STORE, useFactory: () => createObjectStore(config.storage) },
      ...REPOSITORIES.map((Repository) => ({
        provide: Repository,
        inject: [DATABASE],
        useFactory: (db: Database) => new Repository(db.prisma),
      })),
      {
        provide: RunReferencesResolver,
        inject: [DATABASE, OBJECT_STORE],
        useFactory: (db: Database, store: ObjectStore) =>
          new RunReferencesResolver(db.prisma, {
            store,
            localRoots: config.paths.localRoots,
            rootProjects: config.paths.rootProjects,
          }),
      },
      InfrastructureShutdown,
    ];
    return {
      module: InfrastructureModule,
      providers,
      exports: [CONFIG, DATABASE, REDIS, TRAINING_QUEUES, OBJECT_STORE, ...REPOSITORIES, RunReferencesResolver],
    };
  }
}
