import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Liveness, Readiness } from '@trainyard/contracts';
import { schemaRef } from '../openapi/openapi-schemas';
import { Responds } from '../openapi/response-contract';
import { HealthService } from './health.service';
import { Public } from '../auth/auth.decorators';

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: the process is up and serving HTTP' })
  @Responds(200, 'Liveness')
  live(): Liveness {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: Redis, the database and the object store all answer' })
  @Responds(200, 'Readiness')
  @ApiResponse({
    status: 503,
    description: 'Names the dependency that failed: a problem whose extension members are the Readiness report',
    schema: schemaRef('ProblemDetails'),
  })
  async ready(): Promise<Readiness> {
    const report = await this.health.readiness();
    if (report.status !== 'ok') {
      const failed = Object.entries(report.checks)
        .filter(([, check]) => !check.ok)
        .map(([name]) => name);
      throw new ServiceUnavailableException({
        message: `Not ready: ${failed.join(', ')} failed`,
        ...report,
      });
    }
    return report;
  }
}
