import {
  ApiKeyCreatedSchema,
  ApiKeyListSchema,
  ApiKeyViewSchema,
  SessionViewSchema,
  WhoamiSchema,
} from './auth.contract';
import {
  ModelListSchema,
  ModelSummarySchema,
  PipelineListSchema,
  PipelineSummarySchema,
  SweepListSchema,
  SweepSummarySchema,
} from './catalog.contract';
import { CheckpointFilesSchema, CheckpointViewSchema, RunCheckpointsSchema } from './checkpoint.contract';
import {
  DatasetListSchema,
  DatasetLocationSchema,
  DatasetSummarySchema,
  DatasetUploadedSchema,
  DatasetViewSchema,
  SkippedUploadEntrySchema,
} from './dataset.contract';
import {
  ActiveJobViewSchema,
  QueueListSchema,
  QueueViewSchema,
  WorkerListSchema,
  WorkerViewSchema,
} from './fleet.contract';
import { DependencyCheckSchema, LivenessSchema, ReadinessSchema } from './health.contract';
import { MetricPointViewSchema, MetricSeriesSchema, RunMetricsSchema, RunSeriesSchema } from './metric.contract';
import { ModelVersionRegisteredSchema, ModelVersionsSchema, ModelVersionViewSchema } from './model.contract';
import { PipelineViewSchema } from './pipeline.contract';
import { FieldErrorSchema, ProblemDetailsSchema } from './problem.contract';
import { ProjectLimitsListSchema, ProjectLimitsViewSchema } from './project.contract';
import { RunEventSchema } from './run-event.contract';
import { RunLogPageSchema } from './run-log-page.contract';
import { RunDeletionBlockerSchema, RunDeletionSchema } from './run-housekeeping.contract';
import { ActiveRunsSchema, DatasetDeletionSchema, ModelVersionDeletionSchema } from './registry-deletion.contract';
import {
  AttemptViewSchema,
  MetricSummaryViewSchema,
  RunComparisonSchema,
  RunCreatedSchema,
  RunDetailViewSchema,
  RunListItemViewSchema,
  RunListPageSchema,
  RunLiveStateSchema,
  RunQueueViewSchema,
  RunViewSchema,
} from './run.contract';
import { LeaderboardEntrySchema, SweepCreatedSchema, SweepViewSchema } from './sweep.contract';

export * from './auth.contract';
export * from './catalog.contract';
export * from './checkpoint.contract';
export * from './dataset.contract';
export * from './fleet.contract';
export * from './health.contract';
export * from './metric.contract';
export * from './model.contract';
export * from './pipeline.contract';
export * from './problem.contract';
export * from './project.contract';
export * from './run-event.contract';
export * from './run-log-page.contract';
export * from './run-housekeeping.contract';
export * from './registry-deletion.contract';
export * from './run.contract';
export * from './sweep.contract';
export { finiteOrNull, IDEMPOTENT_REPLAYED_HEADER, isId, isoDate } from './wire';

/**
 * Every response contract by the name OpenAPI gives it (`#/components/schemas/<name>`). A schema
 * used inside another is listed too, so the document refers to it rather than repeating it.
 */
export const HTTP_CONTRACTS = {
  RunView: RunViewSchema,
  RunDetailView: RunDetailViewSchema,
  RunListItemView: RunListItemViewSchema,
  RunListPage: RunListPageSchema,
  RunCreated: RunCreatedSchema,
  RunLiveState: RunLiveStateSchema,
  RunQueueView: RunQueueViewSchema,
  RunComparison: RunComparisonSchema,
  RunDeletion: RunDeletionSchema,
  RunDeletionBlocker: RunDeletionBlockerSchema,
  RunEvent: RunEventSchema,
  AttemptView: AttemptViewSchema,
  MetricSummaryView: MetricSummaryViewSchema,
  MetricPointView: MetricPointViewSchema,
  MetricSeries: MetricSeriesSchema,
  RunSeries: RunSeriesSchema,
  RunMetrics: RunMetricsSchema,
  CheckpointView: CheckpointViewSchema,
  RunCheckpoints: RunCheckpointsSchema,
  CheckpointFiles: CheckpointFilesSchema,
  RunLogPage: RunLogPageSchema,
  PipelineView: PipelineViewSchema,
  PipelineSummary: PipelineSummarySchema,
  PipelineList: PipelineListSchema,
  SweepView: SweepViewSchema,
  SweepSummary: SweepSummarySchema,
  SweepList: SweepListSchema,
  SweepCreated: SweepCreatedSchema,
  LeaderboardEntry: LeaderboardEntrySchema,
  ModelVersionView: ModelVersionViewSchema,
  ModelVersionRegistered: ModelVersionRegisteredSchema,
  ModelVersions: ModelVersionsSchema,
  ModelVersionDeletion: ModelVersionDeletionSchema,
  ModelSummary: ModelSummarySchema,
  ModelList: ModelListSchema,
  DatasetLocation: DatasetLocationSchema,
  DatasetView: DatasetViewSchema,
  DatasetUploaded: DatasetUploadedSchema,
  SkippedUploadEntry: SkippedUploadEntrySchema,
  DatasetSummary: DatasetSummarySchema,
  DatasetList: DatasetListSchema,
  DatasetDeletion: DatasetDeletionSchema,
  ActiveRuns: ActiveRunsSchema,
  WorkerView: WorkerViewSchema,
  WorkerList: WorkerListSchema,
  ActiveJobView: ActiveJobViewSchema,
  QueueView: QueueViewSchema,
  QueueList: QueueListSchema,
  ProjectLimitsView: ProjectLimitsViewSchema,
  ProjectLimitsList: ProjectLimitsListSchema,
  ApiKeyView: ApiKeyViewSchema,
  ApiKeyCreated: ApiKeyCreatedSchema,
  ApiKeyList: ApiKeyListSchema,
  SessionView: SessionViewSchema,
  Whoami: WhoamiSchema,
  Liveness: LivenessSchema,
  Readiness: ReadinessSchema,
  DependencyCheck: DependencyCheckSchema,
  FieldError: FieldErrorSchema,
  ProblemDetails: ProblemDetailsSchema,
} as const;
export type HttpContractName = keyof typeof HTTP_CONTRACTS;
