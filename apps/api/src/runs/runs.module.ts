import { Module } from '@nestjs/common';
import { SseConnectionLimiter } from '../http/sse-connection.limiter';
import { ProjectsModule } from '../projects/projects.module';
import { CheckpointFilesController } from './checkpoint-files.controller';
import { RunArtifactsController } from './run-artifacts.controller';
import { RunEventsController } from './run-events.controller';
import { RunEventsHub } from './run-events.hub';
import { RunHistoryController } from './run-history.controller';
import { RunHistoryService } from './run-history.service';
import { RunHousekeepingController } from './run-housekeeping.controller';
import { RunHousekeepingService } from './run-housekeeping.service';
import { RunLogsController } from './run-logs.controller';
import { RunLogsService } from './run-logs.service';
import { RunReferencesService } from './run-references.service';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';
import { PlacementCheck } from './placement-check';
import { SubmissionQuota } from './submission-quota';

/**
 * Everything under `/v1/runs`: submit, read and cancel (RunsController); lists, comparisons and
 * series for dashboards (RunHistoryController); rename, tag, archive and delete
 * (RunHousekeepingController); live events and logs; checkpoints and artifacts.
 * RunHistoryController comes first so `/v1/runs/compare` is matched before `/v1/runs/:id`.
 */
@Module({
  imports: [ProjectsModule],
  controllers: [
    RunHistoryController,
    RunsController,
    RunHousekeepingController,
    RunEventsController,
    RunLogsController,
    CheckpointFilesController,
    RunArtifactsController,
  ],
  // One SSE limiter per process: every kind of live stream (run events, run logs) counts against it.
  providers: [
    RunsService,
    RunHousekeepingService,
    RunReferencesService,
    SubmissionQuota,
    PlacementCheck,
    RunHistoryService,
    RunEventsHub,
    RunLogsService,
    SseConnectionLimiter,
  ],
  exports: [RunsService, RunReferencesService, SubmissionQuota, PlacementCheck],
})
export class RunsModule {}
