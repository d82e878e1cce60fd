export { PrismaClient, Prisma, $Enums } from './generated/prisma/client';
export type { Attempt, Checkpoint, MetricPoint, MetricSummary, Run, Worker } from './model-types';
export {
  openDatabase,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_QUERY_TIMEOUT_MS,
  type Database,
  type DatabaseSettings,
  type OpenDatabaseOptions,
} from './open-database';
export {
  acquireEmbeddedLock,
  embeddedLockHolder,
  embeddedLockPath,
  EmbeddedDatabaseInUseError,
  type EmbeddedLock,
  type EmbeddedLockHolder,
} from './embedded-lock';
export {
  checksumOf,
  findMigrationsDir,
  migrate,
  readMigrations,
  MigrationError,
  MIGRATION_LOCK_KEY,
  type MigrateResult,
  type MigrationFile,
} from './migrator';
export { pgConnection, pgliteConnection, type SqlConnection } from './sql-connection';
export { RunsRepository, type FinishStatus } from './runs.repository';
export { RunHousekeepingRepository, type RunDeletionOutcome, type RunRowsCount } from './run-housekeeping.repository';
export {
  specContainment,
  type RunListQuery,
  type RunListSort,
  type SpecFilter,
  type SpecValue,
} from './run-list.query';
export {
  AttemptsRepository,
  FAILED_ATTEMPT_OUTCOMES,
  STORE_OUTAGE_ERROR,
  storeWaitReason,
  type OpenedAttempt,
  type StoreOutage,
} from './attempts.repository';
export { AttemptWritesRepository, type AttemptConclusion, type AttemptWatch } from './attempt-writes.repository';
export { withFence, type Fence } from './attempt-fence';
export {
  withConnectionRetry,
  isConnectionError,
  isTooManyConnections,
  isStatementTimeout,
  databaseUnavailable,
  DatabaseOutageError,
  databaseErrorLine,
  type ConnectionRetryOptions,
  type RetryClock,
} from './connection-retry';
export { ReconciliationRepository, type UnfinishedRun } from './reconciliation.repository';
export { IdempotencyKeysRepository, type IdempotentRun, type RunCreation } from './idempotency-keys.repository';
export { retentionVictims, type RetainedCheckpoint } from './checkpoint-retention';
export { MetricsRepository, type MetricPointInput } from './metrics.repository';
export {
  MetricCompactionRepository,
  COMPACT_BLOCKS_PER_STATEMENT,
  COMPACT_POINTS_PER_PASS,
  COMPACT_RUNS_PER_PASS,
  COMPACT_MIN_BLOCK_POINTS,
  type CompactionOutcome,
} from './metric-compaction.repository';
export { downsampledSeriesStatement, seriesPageStatement, type SeriesExtent } from './metric-series.sql';
export { ROLLUP_BLOCK } from './metric-summaries.sql';
export { metricGoal, type MetricGoal } from './metric-goal';
export {
  CheckpointsRepository,
  type CheckpointBegin,
  type CompleteCheckpoint,
  type ResumePoint,
} from './checkpoints.repository';
export { bestCheckpointSequence, chosenCheckpoint, type CheckpointChoice } from './checkpoint-choice';
export { WorkersRepository, type DrainOrder, type WorkerRegistration } from './workers.repository';
export { workerState } from './worker-state';
export {
  CheckpointNotFoundError,
  DatabaseUnreachableError,
  FencedError,
  InvalidCursorError,
  isReferenceGone,
  ProjectAtCapacityError,
  RunNotFoundError,
  RunReferenceRefusedError,
  RunStateError,
  WorkerNotFoundError,
} from './errors';
export {
  RunReferencesResolver,
  type BaseModel,
  type ReadableFiles,
  type StartingReferences,
  type SubmittedReferences,
} from './run-references.resolver';
export {
  DatasetsRepository,
  DatasetFolderTakenError,
  DatasetNameTakenError,
  type DatasetCreation,
  type DatasetDeletionOutcome,
  type DatasetDeletionReads,
} from './datasets.repository';
export {
  ModelVersionsRepository,
  type ModelVersionDeletionOutcome,
  type ModelVersionRegistration,
  type ModelVersionWithCheckpoint,
} from './model-versions.repository';
export { PipelinesRepository, type PipelineAdvance, type PipelineRunCreation } from './pipelines.repository';
export { CatalogListsRepository } from './catalog-lists.repository';
export { type CatalogPage, type CatalogPageQuery } from './catalog-page';
export { SweepsRepository, type SweepRunCreation, type SweepWithRuns } from './sweeps.repository';
export { ApiKeysRepository, type ApiKeyCreation } from './api-keys.repository';
export { newApiKeyToken, SESSION_TOKEN_PATTERN } from './api-key-token';
export { ApiKeySessionsRepository, SESSIONS_MAX_PER_KEY } from './api-key-sessions.repository';
export {
  UPLOAD_RESERVATION_HELD_MS,
  UploadReservationsRepository,
  type ReservationOutcome,
  type ReservationRequest,
  type UploadUsage,
} from './upload-reservations.repository';
export {
  placesFree,
  ProjectsRepository,
  type ProjectLimitsChange,
  type ProjectLoad,
  type ProjectOwnedKind,
} from './projects.repository';
export { inSubmitTurn, SubmitsBusyError, SUBMIT_TURN_WAIT_MS } from './submit-turns';
