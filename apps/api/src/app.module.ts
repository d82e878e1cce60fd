import { Module, type DynamicModule } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { ApiOptions } from './config/api-options';
import { AuthModule } from './auth/auth.module';
import { ConfigModule } from './config/config.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { DatasetsModule } from './datasets/datasets.module';
import { HealthModule } from './health/health.module';
import { InfrastructureModule } from './infrastructure/infrastructure.module';
import { MetricsModule } from './metrics/metrics.module';
import { ModelsModule } from './models/models.module';
import { QueriesModule } from './queries/queries.module';
import { PipelinesModule } from './pipelines/pipelines.module';
import { RunsModule } from './runs/runs.module';
import { SweepsModule } from './sweeps/sweeps.module';

@Module({})
export class AppModule {
  static forRoot(config: TrainyardConfig, options: ApiOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config, options), InfrastructureModule, AuthModule, QueriesModule, RunsModule, PipelinesModule, SweepsModule, DatasetsModule, ModelsModule, HealthModule, MetricsModule, DashboardModule],
    };
  }
}
