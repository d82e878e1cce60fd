import { Module } from '@nestjs/common';
import { QueriesModule } from '../queries/queries.module';
import { RunArtifactsController } from './run-artifacts.controller';
import { RunLogsController } from './run-logs.controller';
import { RunLogsService } from './run-logs.service';
import { RunReferencesService } from './run-references.service';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';
import { SubmissionQuota } from './submission-quota';

@Module({
  // QueriesModule for its SseConnectionLimiter: log streams share the live-stream caps.
  imports: [QueriesModule],
  controllers: [RunsController, RunArtifactsController, RunLogsController],
  providers: [RunsService, RunReferencesService, SubmissionQuota, RunLogsService],
  exports: [RunsService, RunReferencesService, SubmissionQuota],
})
export class RunsModule {}
