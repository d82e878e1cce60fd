import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { PrometheusRegistry } from './prometheus.registry';
import { Public } from '../auth/auth.decorators';

@ApiTags('health')
@Controller()
export class MetricsController {
  constructor(private readonly prometheus: PrometheusRegistry) {}

  @Get('metrics')
  @Public('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics: queue depths, runs by status and kind, workers by state, HTTP latency, process' })
  @ApiProduces('text/plain')
  metrics(): Promise<string> {
    return this.prometheus.metrics();
  }
}
