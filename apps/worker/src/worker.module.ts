import { Logger, Module, type DynamicModule } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import {
  AttemptsRepository,
  AttemptWritesRepository,
  CheckpointsRepository,
  DatasetsRepository,
  MetricsRepository,
  ReconciliationRepository,
  PipelinesRepository,
  RunsRepository,
  WorkersRepository,
  openDatabase,
  type Database,
} from '@trainyard/db';
import { createRedisConnection, createTrainingQueue } from '@trainyard/queue';
import { CheckpointStore, createObjectStore, type ObjectStore } from '@trainyard/storage';
import type Redis from 'ioredis';
import { ActiveTrainings } from './active-trainings';
import { WorkerMetrics } from './metrics/worker-metrics';
import { WorkerMetricsServer } from './metrics/worker-metrics.server';
import { CheckpointRetention } from './checkpoint-retention.service';
import { OrphanCheckpointSweeper } from './orphan-checkpoints.sweeper';
import { PipelineAdvancer } from './pipeline.advancer';
import { OutcomeConcluder } from './outcome.concluder';
import { Reconciler } from './reconciler.service';
import { RunEventsApplier } from './run-events.applier';
import { RunInputsResolver } from './run-inputs.resolver';
import { RunLogs } from './run-logs/run-logs';
import { TrainingProcessor } from './training.processor';
import { WorkerHost } from './worker-host.service';
import { CHECKPOINT_STORE, CONFIG, DATABASE, OBJECT_STORE, REDIS, TRAINING_QUEUE, WORKER_OPTIONS, type WorkerOptions } from './worker.tokens';

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
          : {
              provide: DATABASE,
              useFactory: () =>
                openDatabase(config.database, { migrate: config.migrations.onStart, log: (line) => new Logger('Database').log(line) }),
            },
        {
          provide: REDIS,
          useFactory: () => createRedisConnection(config.redis.url, { forWorker: true }),
        },
        {
          provide: TRAINING_QUEUE,
          inject: [REDIS],
          useFactory: (redis: Redis) => createTrainingQueue(redis, options.queueName),
        },
        { provide: OBJECT_STORE, useFactory: () => createObjectStore(config.storage) },
        { provide: CHECKPOINT_STORE, inject: [OBJECT_STORE], useFactory: (store: ObjectStore) => new CheckpointStore(store) },
        repository(RunsRepository),
        repository(AttemptsRepository),
        repository(AttemptWritesRepository),
        repository(MetricsRepository),
        repository(CheckpointsRepository),
        repository(WorkersRepository),
        repository(ReconciliationRepository),
        repository(DatasetsRepository),
        repository(PipelinesRepository),
        PipelineAdvancer,
        RunInputsResolver,
        ActiveTrainings,
        OrphanCheckpointSweeper,
        CheckpointRetention,
        RunEventsApplier,
        RunLogs,
        OutcomeConcluder,
        TrainingProcessor,
        Reconciler,
        WorkerHost,
        WorkerMetrics,
        WorkerMetricsServer,
      ],
    };
  }
}
