import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { PrometheusRegistry } from './prometheus.registry';
import { Public } from '../auth/auth.decorators';
import { RespondsWithoutJson } from '../openapi/response-contract';

@ApiTags('health')
@Controller()
export class MetricsController {
  constructor(private readonly prometheus: PrometheusRegistry) {}

  @Get('metrics')
  @Public('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({
    summary: 'Prometheus metrics: queue depths, runs by status and kind, workers by state, HTTP latency, process',
  })
  @RespondsWithoutJson(200, 'text/plain', 'The Prometheus text exposition format')
  metrics(): Promise<string> {
    return this.prometheus.metrics();
  }
}
