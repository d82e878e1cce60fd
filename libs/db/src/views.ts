import {
  finiteOrNull,
  isoDate,
  isResourceClass,
  type ApiKeyScope,
  type ApiKeyView,
  type AttemptView,
  type CheckpointView,
  type DataReport,
  type DatasetLocation,
  type DatasetView,
  type DrainMode,
  type MetricPointView,
  type MetricSummaryView,
  type ModelVersionView,
  type PipelineSpec,
  type PipelineView,
  type RunLiveState,
  type RunListItemView,
  type RunProgress,
  type RunResult,
  type RunSpec,
  type RunView,
  type SweepValues,
  type WorkerState,
  type WorkerView,
} from '@trainyard/contracts';
import type { ApiKey, Dataset, MetricPoint as MetricPointRow, ModelVersion, Pipeline } from './generated/prisma/client';
import type { Attempt, Checkpoint, MetricSummary, Run, Worker } from './model-types';

/*
 * Rows → the API's response contracts (libs/contracts/src/http). Every field is named, so a
 * column added to the schema reaches clients only when the contract says so; dates become
 * ISO strings and non-finite measurements null here, so what leaves libs/db is already what
 * JSON.stringify writes and a client parses.
 */

type RunFields = Omit<Run, 'spec'>;

function runFields(row: RunFields): Omit<RunView, 'spec'> {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    name: row.name,
    baseRunId: row.baseRunId,
    failureReason: row.failureReason,
    cancelRequested: row.cancelRequested,
    progress: row.progress as unknown as RunProgress | null,
    result: row.result as unknown as RunResult | null,
    dataReport: row.dataReport as unknown as DataReport | null,
    backend: row.backend,
    createdAt: isoDate(row.createdAt),
    updatedAt: isoDate(row.updatedAt),
    startedAt: isoDate(row.startedAt),
    endedAt: isoDate(row.endedAt),
    currentAttemptId: row.currentAttemptId,
    baseCheckpointId: row.baseCheckpointId,
    pipelineId: row.pipelineId,
    held: row.held,
    sweepId: row.sweepId,
    sweepParams: row.sweepParams as unknown as SweepValues | null,
    project: row.project,
    tags: row.tags,
    notes: row.notes,
    archivedAt: isoDate(row.archivedAt),
    metricsCompactedAt: isoDate(row.metricsCompactedAt),
  };
}

export function runView(row: Run): RunView {
  return { ...runFields(row), spec: row.spec as unknown as RunSpec };
}

export function runListItemView(
  row: RunFields,
  summaries: MetricSummary[],
  baseRunName: string | null,
): RunListItemView {
  return { ...runFields(row), summaries: summaries.map(metricSummaryView), baseRunName };
}

export function runLiveState(row: Pick<Run, 'status' | 'progress' | 'failureReason' | 'endedAt'>): RunLiveState {
  return {
    status: row.status,
    progress: row.progress as unknown as RunProgress | null,
    failureReason: row.failureReason,
    endedAt: isoDate(row.endedAt),
  };
}

export function metricSummaryView(row: MetricSummary): MetricSummaryView {
  return {
    runId: row.runId,
    name: row.name,
    goal: row.goal === 'min' ? 'min' : 'max',
    count: row.count,
    last: finiteOrNull(row.last),
    lastStep: row.lastStep,
    min: finiteOrNull(row.min),
    max: finiteOrNull(row.max),
    best: finiteOrNull(row.best),
    bestStep: row.bestStep,
    updatedAt: isoDate(row.updatedAt),
  };
}

export function attemptView(row: Attempt): AttemptView {
  return {
    id: row.id,
    runId: row.runId,
    number: row.number,
    workerId: row.workerId,
    backend: row.backend,
    startedAt: isoDate(row.startedAt),
    endedAt: isoDate(row.endedAt),
    outcome: row.outcome,
    error: row.error,
  };
}

export function checkpointView(row: Checkpoint): CheckpointView {
  return {
    id: row.id,
    runId: row.runId,
    attemptId: row.attemptId,
    sequence: row.sequence,
    epoch: row.epoch,
    step: row.step,
    uri: row.uri,
    bytes: row.bytes,
    sha256: row.sha256,
    status: row.status,
    models: row.models,
    createdAt: isoDate(row.createdAt),
    reason: row.reason,
    metricName: row.metricName,
    metricValue: finiteOrNull(row.metricValue),
  };
}

/** A metric_points row, as Prisma and the series statements read it. */
export function metricPointView(row: MetricPointRow): MetricPointView {
  return {
    // No metric-point id comes near 2^53.
    id: Number(row.id),
    runId: row.runId,
    attemptId: row.attemptId,
    name: row.name,
    step: row.step,
    epoch: row.epoch,
    value: finiteOrNull(Number(row.value)),
    wallTime: isoDate(row.wallTime),
  };
}

export function pipelineView(row: Pipeline, runs: Run[]): PipelineView {
  return {
    id: row.id,
    name: row.name,
    project: row.project,
    status: row.status,
    spec: row.spec as unknown as PipelineSpec,
    failureReason: row.failureReason,
    createdAt: isoDate(row.createdAt),
    updatedAt: isoDate(row.updatedAt),
    endedAt: isoDate(row.endedAt),
    runs: runs.map(runView),
  };
}

export function datasetView(row: Dataset): DatasetView {
  return {
    id: row.id,
    name: row.name,
    project: row.project,
    location: row.location as unknown as DatasetLocation,
    uri: row.uri,
    classNames: row.classNames,
    counts: row.counts,
    images: row.counts.reduce((a, b) => a + b, 0),
    uploadedBytes: row.uploadedBytes === null ? null : Number(row.uploadedBytes),
    createdAt: isoDate(row.createdAt),
  };
}

export function modelVersionView(row: ModelVersion): ModelVersionView {
  return {
    id: row.id,
    name: row.name,
    project: row.project,
    version: row.version,
    runId: row.runId,
    checkpointId: row.checkpointId,
    createdAt: isoDate(row.createdAt),
  };
}

/** The columns of a worker the fleet shows. */
export type WorkerShown = Pick<
  Worker,
  | 'id'
  | 'hostname'
  | 'pid'
  | 'backend'
  | 'gpu'
  | 'gpuCount'
  | 'gpuMemoryMb'
  | 'resourceClasses'
  | 'memoryMb'
  | 'concurrency'
  | 'startedAt'
  | 'lastHeartbeatAt'
  | 'stoppedAt'
  | 'stopReason'
  | 'drainRequestedAt'
  | 'drainMode'
  | 'drainedAt'
>;

export function workerView(
  row: WorkerShown,
  state: WorkerState,
  running: { runId: string; number: number; startedAt: Date }[],
): WorkerView {
  return {
    id: row.id,
    hostname: row.hostname,
    pid: row.pid,
    backend: row.backend,
    gpu: row.gpu,
    gpuCount: row.gpuCount,
    gpuMemoryMb: row.gpuMemoryMb,
    resourceClasses: row.resourceClasses.filter(isResourceClass),
    memoryMb: row.memoryMb,
    concurrency: row.concurrency,
    startedAt: isoDate(row.startedAt),
    lastHeartbeatAt: isoDate(row.lastHeartbeatAt),
    stoppedAt: isoDate(row.stoppedAt),
    stopReason: row.stopReason === 'shutdown' || row.stopReason === 'lost' ? row.stopReason : null,
    drainRequestedAt: isoDate(row.drainRequestedAt),
    drainMode: row.drainMode === null ? null : drainModeOf(row.drainMode),
    drainedAt: isoDate(row.drainedAt),
    state,
    running: running.map((attempt) => ({
      runId: attempt.runId,
      number: attempt.number,
      startedAt: isoDate(attempt.startedAt),
    })),
  };
}

/** The column holds what requestDrain wrote; anything else reads as the stronger mode. */
export function drainModeOf(value: string): DrainMode {
  return value === 'finish' ? 'finish' : 'preempt';
}

/** The columns of a key that may be shown (never its lookup, salt or hash). */
export type ApiKeyShown = Pick<ApiKey, 'id' | 'name' | 'scopes' | 'project' | 'createdAt' | 'lastUsedAt' | 'revokedAt'>;

export function apiKeyView(row: ApiKeyShown): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes as ApiKeyScope[],
    project: row.project,
    createdAt: isoDate(row.createdAt),
    lastUsedAt: isoDate(row.lastUsedAt),
    revokedAt: isoDate(row.revokedAt),
  };
}
