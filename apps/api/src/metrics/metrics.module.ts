import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { PrometheusRegistry } from './prometheus.registry';

/** `/metrics`; requests are timed by the HTTP middleware createApiApp installs first (http-metrics.middleware.ts). */
@Module({
  controllers: [MetricsController],
  providers: [PrometheusRegistry],
})
export class MetricsModule {}
