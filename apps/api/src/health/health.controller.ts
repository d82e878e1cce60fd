import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthService } from './health.service';
import { Public } from '../auth/auth.decorators';

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: the process is up and serving HTTP' })
  live() {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: Redis, the database and the object store all answer' })
  @ApiResponse({ status: 503, description: 'Names the dependency that failed' })
  async ready() {
    const report = await this.health.readiness();
    if (report.status !== 'ok') {
      const failed = Object.entries(report.checks)
        .filter(([, check]) => !check.ok)
        .map(([name]) => name);
      throw new ServiceUnavailableException({ statusCode: 503, error: 'Service Unavailable', message: `Not ready: ${failed.join(', ')} failed`, ...report });
    }
    return report;
  }
}
