export { PrismaClient, Prisma, $Enums } from './generated/prisma/client';
export type { Attempt, Checkpoint, MetricPoint, MetricSummary, Run, RunDetail, RunListItem, Worker } from './model-types';
export { openDatabase, redact, type Database, type OpenDatabaseOptions } from './open-database';
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
export { RUN_LIST_MAX_LIMIT, type RunListPage, type RunListQuery, type RunListSort } from './run-list.query';
export { AttemptsRepository } from './attempts.repository';
export { MetricsRepository, type MetricPointInput } from './metrics.repository';
export { metricGoal, type MetricGoal } from './metric-goal';
export { CheckpointsRepository, type CheckpointBegin } from './checkpoints.repository';
export { WorkersRepository, type WorkerRegistration } from './workers.repository';
export { CheckpointNotFoundError, InvalidCursorError, RunNotFoundError, RunStateError } from './errors';
