import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Job } from 'bullmq';
import type { TrainingEvent, TrainingOutcome } from '@trainyard/training/supervisor';

/**
 * How a job's attempt on this worker ended. `retried`: failed, and goes back to the queue;
 * `store-wait`: the object store could not be reached, and the job waits for it (not a failure).
 */
export const JOB_OUTCOMES = [
  'succeeded',
  'failed',
  'retried',
  'store-wait',
  'cancelled',
  'preempted',
  'fenced',
] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/** A run's images/s counts towards the worker's throughput while its progress is this recent. */
export const THROUGHPUT_FRESH_MS = 60_000;

/** What this worker did with a job because of its project's limit: parked it, or let a parked one back in line. */
export const PROJECT_LIMIT_ACTIONS = ['parked', 'released'] as const;

/** Why a training process ended without an outcome: it exited (native crash, OOM kill, `kill -9`) or it was killed for its silence. */
export const CHILD_CRASH_CAUSES = ['exited', 'unresponsive'] as const;

/**
 * This worker's own Prometheus metrics. The API's /metrics reads fleet-wide facts (queue depth,
 * runs by status, workers alive) from Redis and PostgreSQL; what only the worker process sees
 * (throughput, checkpoint traffic, crashed training processes, how long jobs waited) is counted
 * here and served by WorkerMetricsServer on WORKER_METRICS_PORT.
 */
@Injectable()
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly throughput = new Map<string, { imagesPerSec: number; at: number }>();

  readonly jobs = new Counter({
    name: 'trainyard_worker_jobs_total',
    help: 'Training job attempts this worker ended, by outcome (retried: failed and back to the queue; fenced: another worker took the run over)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly checkpoints = new Counter({
    name: 'trainyard_worker_checkpoints_total',
    help: 'Checkpoints written whole and recorded',
    registers: [this.registry],
  });
  readonly checkpointBytes = new Counter({
    name: 'trainyard_worker_checkpoint_bytes_total',
    help: 'Bytes of the checkpoints written and recorded',
    registers: [this.registry],
  });
  readonly checkpointFailures = new Counter({
    name: 'trainyard_worker_checkpoint_failures_total',
    help: 'Checkpoints that failed: record (written, but recording it in PostgreSQL failed), corrupt (found unusable when resuming)',
    labelNames: ['stage'],
    registers: [this.registry],
  });
  readonly childCrashes = new Counter({
    name: 'trainyard_worker_child_crashes_total',
    help: 'Training processes that ended without an outcome: exited (native crash, OOM kill, kill -9) or unresponsive (killed after WORKER_CHILD_HEARTBEAT_TIMEOUT_MS of silence); the attempt is retried',
    labelNames: ['cause'],
    registers: [this.registry],
  });
  readonly trainingPauses = new Counter({
    name: 'trainyard_worker_training_pauses_total',
    help: 'Times a training was paused between two batches because its events and metric points waited on their writes (EVENT_BACKLOG: the database is slower than the training)',
    registers: [this.registry],
  });
  readonly trainingPausedSeconds = new Counter({
    name: 'trainyard_worker_training_paused_seconds_total',
    help: 'Seconds trainings spent paused for their event backlog (counted when each pause ends)',
    registers: [this.registry],
  });
  readonly projectLimitJobs = new Counter({
    name: 'trainyard_worker_project_limit_jobs_total',
    help: 'Jobs this worker parked because their project was at its limit (parked), and parked jobs it let back in line as a run of the project ended (released)',
    labelNames: ['action'],
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: 'trainyard_worker_queue_wait_seconds',
    help: "Seconds from a run's job entering the queue to its first attempt starting on this worker, time parked at its project's limit or given back included (retries and preempted runs' later attempts not counted)",
    buckets: [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600],
    registers: [this.registry],
  });

  constructor() {
    for (const outcome of JOB_OUTCOMES) this.jobs.inc({ outcome }, 0);
    for (const stage of ['record', 'corrupt']) this.checkpointFailures.inc({ stage }, 0);
    for (const cause of CHILD_CRASH_CAUSES) this.childCrashes.inc({ cause }, 0);
    for (const action of PROJECT_LIMIT_ACTIONS) this.projectLimitJobs.inc({ action }, 0);
    const throughput = this.throughput;
    new Gauge({
      name: 'trainyard_worker_images_per_second',
      help: `Training images per second, summed over the runs this worker trains (progress seen in the last ${THROUGHPUT_FRESH_MS / 1000} s)`,
      registers: [this.registry],
      collect() {
        const now = Date.now();
        let sum = 0;
        for (const [runId, seen] of throughput) {
          if (now - seen.at > THROUGHPUT_FRESH_MS) throughput.delete(runId);
          else sum += seen.imagesPerSec;
        }
        this.set(sum);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'trainyard_worker_' });
  }

  /**
   * A run's attempt opened: the first one's wait, from its job's enqueue to now, is the queue's
   * wait. Counted here rather than when a worker takes the job: a job parked at its project's limit
   * or given back (no room, no memory) is taken and let go again, and its wait runs until one of
   * those takes trains it. A later attempt (a retry, a preempted run) is no queue wait.
   */
  trainingStarted(job: Pick<Job, 'timestamp'>, attempt: number, now = Date.now()): void {
    if (attempt !== 1) return;
    this.queueWait.observe(Math.max(0, now - job.timestamp) / 1000);
  }

  /** Wraps the handler of a training's events: counts throughput and checkpoints as they are applied. */
  instrument(runId: string, apply: (event: TrainingEvent) => Promise<void>): (event: TrainingEvent) => Promise<void> {
    return async (event) => {
      if (event.type === 'progress' && event.progress.imagesPerSec !== undefined) {
        this.throughput.set(runId, { imagesPerSec: event.progress.imagesPerSec, at: Date.now() });
      } else if (event.type === 'checkpoint-corrupt') {
        this.checkpointFailures.inc({ stage: 'corrupt' });
      }
      try {
        await apply(event);
      } catch (error) {
        if (event.type === 'checkpoint') this.checkpointFailures.inc({ stage: 'record' });
        throw error;
      }
      if (event.type === 'checkpoint') {
        this.checkpoints.inc();
        this.checkpointBytes.inc(event.bytes);
      }
    };
  }

  /** A training's outcome reached the concluder (`failed` ones are counted as failed or retried there). */
  trainingEnded(runId: string, outcome: TrainingOutcome, fenced: boolean): void {
    this.throughput.delete(runId);
    if (outcome.status === 'failed' && outcome.crash)
      this.childCrashes.inc({ cause: outcome.crash.silentMs === undefined ? 'exited' : 'unresponsive' });
    if (fenced) this.jobEnded('fenced');
    else if (outcome.status !== 'failed') this.jobEnded(outcome.status);
  }

  jobEnded(outcome: JobOutcome): void {
    this.jobs.inc({ outcome });
  }
}
