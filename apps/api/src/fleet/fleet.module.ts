import { Module } from '@nestjs/common';
import { FleetController } from './fleet.controller';
import { FleetService } from './fleet.service';

/** The training queue's depth and the worker fleet (`/v1/queues`, `/v1/workers`), and drains. */
@Module({
  controllers: [FleetController],
  providers: [FleetService],
})
export class FleetModule {}
