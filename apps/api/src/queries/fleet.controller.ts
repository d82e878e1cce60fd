import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { FleetService } from './fleet.service';

@ApiTags('fleet')
@Controller('v1')
export class FleetController {
  constructor(private readonly fleet: FleetService) {}

  @Get('queues')
  @ApiOperation({ summary: 'Training queue depth by job state, and the jobs being trained now' })
  queues() {
    return this.fleet.queues();
  }

  @Get('workers')
  @ApiOperation({ summary: 'Registered workers: backend, GPU, heartbeat, alive/lost/stopped, the runs each is training' })
  workers() {
    return this.fleet.workers();
  }
}
