import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { TrainyardConfig } from '@trainyard/config';
import { InfrastructureModule } from '@trainyard/infrastructure';
import type { ApiOptions } from './config/api-options';
import { AuthModule } from './auth/auth.module';
import { ConfigModule } from './config/config.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { DatasetsModule } from './datasets/datasets.module';
import { FleetModule } from './fleet/fleet.module';
import { HealthModule } from './health/health.module';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { MetricsModule } from './metrics/metrics.module';
import { ModelsModule } from './models/models.module';
import { PipelinesModule } from './pipelines/pipelines.module';
import { ProjectsModule } from './projects/projects.module';
import { RunsModule } from './runs/runs.module';
import { SweepsModule } from './sweeps/sweeps.module';

@Module({})
export class AppModule {
  static forRoot(config: TrainyardConfig, options: ApiOptions = {}): DynamicModule {
    return {
      module: AppModule,
      // Every error answer, domain errors included, as problem details (http/problem-details.filter.ts).
      providers: [{ provide: APP_FILTER, useClass: ProblemDetailsFilter }],
      imports: [
        ConfigModule.forRoot(options),
        InfrastructureModule.forRoot(config, {
          role: 'api',
          queueName: options.queueName ?? config.queue.name,
          database: options.database,
        }),
        AuthModule,
        RunsModule,
        FleetModule,
        ProjectsModule,
        PipelinesModule,
        SweepsModule,
        DatasetsModule,
        ModelsModule,
        HealthModule,
        MetricsModule,
        DashboardModule,
      ],
    };
  }
}
