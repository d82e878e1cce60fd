import { Module } from '@nestjs/common';
import { ProjectLimitsController } from './project-limits.controller';
import { ProjectLimitsService } from './project-limits.service';

/** Projects' own limits (`/v1/projects/…/limits`). */
@Module({
  controllers: [ProjectLimitsController],
  providers: [ProjectLimitsService],
  exports: [ProjectLimitsService],
})
export class ProjectsModule {}
