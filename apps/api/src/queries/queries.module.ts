import { SseConnectionLimiter } from './sse-connection.limiter';
import { Module } from '@nestjs/common';
import { CheckpointFilesController } from './checkpoint-files.controller';
import { DashboardQueriesController } from './dashboard-queries.controller';
import { DashboardQueriesService } from './dashboard-queries.service';
import { FleetController } from './fleet.controller';
import { FleetService } from './fleet.service';
import { RunEventsController } from './run-events.controller';
import { RunEventsHub } from './run-events.hub';

/**
 * Read-only queries for dashboards (run lists, downsampled series, comparisons, live events,
 * queues and workers). Imported before RunsModule so its `/v1/runs/…` routes match first.
 */
@Module({
  controllers: [DashboardQueriesController, RunEventsController, CheckpointFilesController, FleetController],
  providers: [DashboardQueriesService, RunEventsHub, FleetService, SseConnectionLimiter],
  // One limiter per process: every kind of live stream (run events, run logs) counts against it.
  exports: [SseConnectionLimiter],
})
export class QueriesModule {}
