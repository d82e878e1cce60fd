import { Controller, Get, Header, Inject, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { TrainyardConfig } from '@trainyard/config';
import { CONFIG } from '@trainyard/infrastructure';
import { PrometheusRegistry } from './prometheus.registry';
import { Public } from '../auth/auth.decorators';
import type { AuthenticatedRequest } from '../auth/principal';
import { requireOperator } from '../auth/require-operator';
import { RespondsWithoutJson } from '../openapi/response-contract';

@ApiTags('health')
@Controller()
export class MetricsController {
  constructor(
    private readonly prometheus: PrometheusRegistry,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  /**
   * Every project's runs and limits and the fleet's totals: an operator's view. With a key, only a
   * key without a project reads it (`read` is enough: a Prometheus scraper's key); a project's key
   * gets the 403 of every other operator-only route. METRICS_PUBLIC=true opens it to anyone who
   * reaches the port, as the operator chose.
   */
  @Get('metrics')
  @Public('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({
    summary:
      "Prometheus metrics: queue depths, runs by status and kind, workers by state, HTTP latency, process; an operator's key (without a project) unless METRICS_PUBLIC=true",
  })
  @RespondsWithoutJson(200, 'text/plain', 'The Prometheus text exposition format')
  @ApiResponse({ status: 403, description: "A project's key: the fleet's metrics are for operators" })
  metrics(@Req() request: AuthenticatedRequest): Promise<string> {
    if (!this.config.api.metricsPublic) {
      // The guard let the request through with a principal (or it would have answered 401).
      if (!request.principal) throw new Error('GET /metrics reached without a principal while METRICS_PUBLIC is off');
      requireOperator(request.principal, "Reading the fleet's metrics");
    }
    return this.prometheus.metrics();
  }
}
