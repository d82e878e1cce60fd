import { Module } from '@nestjs/common';
import { RunArtifactsController } from './run-artifacts.controller';
import { RunReferencesService } from './run-references.service';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';
import { SubmissionQuota } from './submission-quota';

@Module({
  controllers: [RunsController, RunArtifactsController],
  providers: [RunsService, RunReferencesService, SubmissionQuota],
  exports: [RunsService, RunReferencesService, SubmissionQuota],
})
export class RunsModule {}
