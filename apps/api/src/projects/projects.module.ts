import { Module } from '@nestjs/common';
import { FleetDefaultLimitReader } from './fleet-default-limit';
import { ProjectLimitsController } from './project-limits.controller';
import { ProjectLimitsService } from './project-limits.service';

/** Projects' own limits (`/v1/projects/…/limits`). */
@Module({
  controllers: [ProjectLimitsController],
  providers: [ProjectLimitsService, FleetDefaultLimitReader],
  exports: [FleetDefaultLimitReader],
})
export class ProjectsModule {}
