import { Module, type DynamicModule } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { Database } from '@trainyard/db';
import { InfrastructureModule, OBJECT_STORE } from '@trainyard/infrastructure';
import { CheckpointStore, type ObjectStore } from '@trainyard/storage';
import { ActiveTrainings } from './active-trainings';
import { DatabasePatience } from './database-patience';
import { PrestartedProcesses } from './devices/prestarted-processes';
import { WorkerDevices } from './devices/worker-devices';
import { WorkerMetrics } from './metrics/worker-metrics';
import { WorkerMetricsServer } from './metrics/worker-metrics.server';
import { CheckpointRetention } from './checkpoint-retention.service';
import { OrphanCheckpointSweeper } from './orphan-checkpoints.sweeper';
import { OrphanUploadSweeper } from './orphan-uploads.sweeper';
import { PipelineAdvancer } from './pipeline.advancer';
import { OutcomeConcluder } from './outcome.concluder';
import { Reconciler } from './reconciler.service';
import { RunEventsApplier } from './run-events.applier';
import { RunInputsResolver } from './run-inputs.resolver';
import { RunLogs } from './run-logs/run-logs';
import { ProjectParking } from './project-parking';
import { TrainingProcessor } from './training.processor';
import { WorkerHost } from './worker-host.service';
import { CHECKPOINT_STORE, WORKER_OPTIONS, type WorkerOptions } from './worker.tokens';

@Module({})
export class WorkerModule {
  /**
   * `database` lets the demo share one embedded PGlite between the API and the worker in one
   * process (PGlite is single-process); otherwise the worker opens its own connection.
   */
  static register(config: TrainyardConfig, options: WorkerOptions, database?: Database): DynamicModule {
    return {
      module: WorkerModule,
      imports: [InfrastructureModule.forRoot(config, { role: 'worker', queueName: options.queueName, database })],
      providers: [
        { provide: WORKER_OPTIONS, useValue: options },
        {
          provide: CHECKPOINT_STORE,
          inject: [OBJECT_STORE],
          useFactory: (store: ObjectStore) => new CheckpointStore(store),
        },
        PipelineAdvancer,
        RunInputsResolver,
        ActiveTrainings,
        DatabasePatience,
        WorkerDevices,
        PrestartedProcesses,
        OrphanCheckpointSweeper,
        OrphanUploadSweeper,
        CheckpointRetention,
        RunEventsApplier,
        RunLogs,
        OutcomeConcluder,
        ProjectParking,
        TrainingProcessor,
        Reconciler,
        WorkerHost,
        WorkerMetrics,
        WorkerMetricsServer,
      ],
    };
  }
}
