import { z } from 'zod';
import type { RunProgress } from '../queue.contract';
import { RESOURCE_CLASSES } from '../resources.schema';
import { Id, NullableTimestamp, recorded, Timestamp } from './wire';
import type { Inferred } from '../named-schema';

/** `preempt`: checkpoint the held jobs now and put them back in the queue; `finish`: let them end. */
export const DRAIN_MODES = ['preempt', 'finish'] as const;
export type DrainMode = (typeof DRAIN_MODES)[number];

/** Stopped once it said so, lost after a silence, otherwise alive, draining or drained (see workerState in libs/db). */
export const WORKER_STATES = ['alive', 'draining', 'drained', 'lost', 'stopped'] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

/**
 * Why a stopped worker stopped: `shutdown`, it stopped itself (SIGTERM, SIGINT); `lost`, it went
 * silent and the fleet retired it after WORKER_LOST_RETIRE_MS lost (a kill -9, an OOM kill, a
 * node gone).
 */
export const WORKER_STOP_REASONS = ['shutdown', 'lost'] as const;
export type WorkerStopReason = (typeof WORKER_STOP_REASONS)[number];

/** The states a training queue's jobs are counted by (BullMQ's names). */
export const QUEUE_JOB_STATES = [
  'waiting',
  'prioritized',
  'delayed',
  'active',
  'waiting-children',
  'completed',
  'failed',
] as const;
export type QueueJobState = (typeof QUEUE_JOB_STATES)[number];

const workerViewSchema = z.strictObject({
  /** `<hostname>-<pid>-<8 hex>` */
  id: z.string(),
  hostname: z.string(),
  pid: z.int(),
  backend: z.string().nullable(),
  /** The GPU model the worker's device probe found (null on CPU workers). */
  gpu: z.string().nullable(),
  /** GPUs this worker trains on (one child per GPU). */
  gpuCount: z.int(),
  /** Memory of one of them, in MiB; null when unknown or none. */
  gpuMemoryMb: z.int().nullable(),
  /** The resource classes whose queues it consumes. */
  resourceClasses: z.array(z.enum(RESOURCE_CLASSES)),
  /** Its RAM in MiB; null when unknown. */
  memoryMb: z.int().nullable(),
  concurrency: z.int(),
  startedAt: Timestamp,
  lastHeartbeatAt: Timestamp,
  stoppedAt: NullableTimestamp,
  /** Why it stopped (null while it runs, and for workers stopped before this was recorded). */
  stopReason: z.enum(WORKER_STOP_REASONS).nullable(),
  drainRequestedAt: NullableTimestamp,
  drainMode: z.enum(DRAIN_MODES).nullable(),
  drainedAt: NullableTimestamp,
  state: z.enum(WORKER_STATES),
  running: z.array(z.strictObject({ runId: Id, number: z.int(), startedAt: Timestamp })),
});
export interface WorkerViewSchemaType extends Inferred<typeof workerViewSchema> {}
/** A worker process as the fleet page shows it, with the attempts it is training now. */
export const WorkerViewSchema: WorkerViewSchemaType = workerViewSchema;
export type WorkerView = z.infer<typeof WorkerViewSchema>;

const workerListSchema = z.strictObject({ workers: z.array(WorkerViewSchema) });
export interface WorkerListSchemaType extends Inferred<typeof workerListSchema> {}
/** `GET /v1/workers` */
export const WorkerListSchema: WorkerListSchemaType = workerListSchema;
export type WorkerList = z.infer<typeof WorkerListSchema>;

const activeJobViewSchema = z.strictObject({
  id: z.string(),
  /** The job name: the run's spec kind. */
  name: z.string(),
  runId: Id.nullable(),
  /** 0 until the worker's first report, then the RunProgress it reported. */
  progress: z.union([z.number(), recorded<RunProgress>('The RunProgress the worker last reported')]),
  attemptsMade: z.int(),
  /** When a worker took it (epoch milliseconds). */
  processedOn: z.number().nullable(),
});
export interface ActiveJobViewSchemaType extends Inferred<typeof activeJobViewSchema> {}
/** A job being trained now; its id is its run's id. */
export const ActiveJobViewSchema: ActiveJobViewSchemaType = activeJobViewSchema;
export type ActiveJobView = z.infer<typeof ActiveJobViewSchema>;

const queueViewSchema = z.strictObject({
  name: z.string(),
  resourceClass: z.enum(RESOURCE_CLASSES),
  counts: z.partialRecord(z.enum(QUEUE_JOB_STATES), z.int()),
  active: z.array(ActiveJobViewSchema),
  /** Runs of the class waiting for a worker (QUEUED or PREEMPTED, not held), from PostgreSQL. */
  waitingRuns: z.int(),
  /** How long the longest-waiting of them has waited, in seconds; null when none waits. */
  oldestWaitSeconds: z.number().nullable(),
});
export interface QueueViewSchemaType extends Inferred<typeof queueViewSchema> {}
/** One resource class's queue: BullMQ's counts, the jobs trained now, and how long runs have waited. */
export const QueueViewSchema: QueueViewSchemaType = queueViewSchema;
export type QueueView = z.infer<typeof QueueViewSchema>;

const queueListSchema = z.strictObject({ queues: z.array(QueueViewSchema) });
export interface QueueListSchemaType extends Inferred<typeof queueListSchema> {}
/** `GET /v1/queues` */
export const QueueListSchema: QueueListSchemaType = queueListSchema;
export type QueueList = z.infer<typeof QueueListSchema>;
