// The browser-safe entry of @trainyard/client: the transport and every route typed by the
// contracts, without the zod validation layer (response-schemas.ts) or any `node:` module. The
// dashboard imports it; tools/build-dashboard.mjs compiles these files for the browser and
// refuses to serve any module that imports zod or `node:`.
export {
  TrainyardClientCore,
  type ApiKeyCreation,
  type CallOptions,
  type PageQuery,
  type RunListQuery,
  type RunLogQuery,
  type TrainyardClientCoreOptions,
} from './trainyard-client-core';
export type { ResponseContract, ResponseContracts, ResponseValidator } from './response-contracts';
export { StreamEndedEarlyError, TrainyardApiError, TrainyardConnectionError } from './trainyard-api.error';
export { serverSentEvents, type ServerSentEvent } from './server-sent-events';
export { queueWaitParts } from './queue-wait-text';
export { defaultLimitText, projectLimitText } from './project-limit-text';
export { formatBytes } from './byte-size-text';
export { DEFAULT_RETRY_POLICY, retryAfterMs, retryDelayMs, type RetryPolicy } from './retry-policy';

/**
 * The types of what the client sends and reads, from the contracts it is typed by (compiled into
 * the package, but behind its exports map): so a caller names `RunDetailView` or `SweepSpecInput`
 * rather than `Awaited<ReturnType<TrainyardClient['run']>>`. Types only: nothing of the contracts
 * (nor zod) is loaded at run time. tools/client-package.int-spec.ts checks that every answer's
 * contract (HTTP_CONTRACTS) is named here.
 */
export type {
  // What a call sends: specs as a client writes them (defaulted fields optional), and the changes.
  RunSpecInput,
  PretrainSpecInput,
  FinetuneSpecInput,
  PipelineSpecInput,
  SweepSpecInput,
  KindImplied,
  RunUpdate,
  DatasetSpec,
  TrainingSpec,
  AugmentationSpec,
  CheckpointSpec,
  Resources,
  SweepParameter,
  SweepParameterValues,
  SweepValue,
  // Specs as the API holds them (every default filled in): a view's `spec`.
  RunSpec,
  PretrainSpec,
  FinetuneSpec,
  EvaluateSpec,
  PipelineSpec,
  PipelineEvaluation,
  SweepSpec,
  ClassifierSpec,
  AutoencoderSpec,
  // Values a call takes or an answer holds.
  RunStatus,
  RunKind,
  AttemptOutcome,
  CheckpointStatus,
  PipelineStatus,
  WorkerState,
  WorkerStopReason,
  QueueJobState,
  ApiKeyScope,
  DrainMode,
  ResourceClass,
  EvaluationSplit,
  MetricGoal,
  RunLogLevel,
  RunLogSource,
  // Answers (HTTP_CONTRACTS, by their OpenAPI names), events and log lines.
  RunView,
  RunDetailView,
  RunListItemView,
  RunListPage,
  RunCreated,
  RunLiveState,
  RunQueueView,
  RunComparison,
  RunDeletion,
  RunDeletionBlocker,
  RunEvent,
  RunProgress,
  RunResult,
  FinetuneResult,
  PretrainResult,
  EvaluationReport,
  ClassificationReport,
  DataReport,
  AttemptView,
  MetricSummaryView,
  MetricPointView,
  MetricSeries,
  RunSeries,
  RunMetrics,
  CheckpointView,
  RunCheckpoints,
  CheckpointFiles,
  RunLogPage,
  RunLogLine,
  PipelineView,
  PipelineSummary,
  PipelineList,
  SweepView,
  SweepSummary,
  SweepList,
  SweepCreated,
  LeaderboardEntry,
  ModelVersionView,
  ModelVersionRegistered,
  ModelVersions,
  ModelVersionDeletion,
  ModelSummary,
  ModelList,
  DatasetLocation,
  DatasetView,
  DatasetUploaded,
  SkippedUploadEntry,
  DatasetSummary,
  DatasetList,
  DatasetDeletion,
  ActiveRuns,
  WorkerView,
  WorkerList,
  ActiveJobView,
  QueueView,
  QueueList,
  ProjectLimitsView,
  ProjectLimitsList,
  ApiKeyView,
  ApiKeyCreated,
  ApiKeyList,
  SessionView,
  Whoami,
  Liveness,
  Readiness,
  DependencyCheck,
  // Error answers (RFC 9457), as TrainyardApiError carries them.
  ProblemDetails,
  FieldError,
} from '@trainyard/contracts';
