import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TrainyardConfig } from '@trainyard/config';
import { RESOURCE_CLASSES, RUN_KINDS, RUN_STATUSES } from '@trainyard/contracts';
import { QUEUE_JOB_STATES, WORKER_STATES } from '@trainyard/contracts';
import {
  ProjectsRepository,
  RunsRepository,
  UploadReservationsRepository,
  WorkersRepository,
  type ProjectLoad,
} from '@trainyard/db';
import type { TrainingQueues } from '@trainyard/queue';
import { withDeadline } from '../common/with-deadline';
import { CONFIG, TRAINING_QUEUES } from '@trainyard/infrastructure';
import { EndedRunsBaseCounter } from './ended-runs-base.counter';

/**
 * How long before the base's instant its count of ended runs stops, the later ones being counted at
 * every scrape: a run's `ended_at` may precede its commit (a transaction's now() is its start; some
 * writers stamp it with their own clock), and a run committed after the base with an `ended_at`
 * before its bound would be in neither count until the next base. Five minutes is far longer than
 * any transaction that ends a run may last (30 s, after waiting up to 10 s for a connection) and
 * than the clock drift of hosts kept by NTP; a run stamped further back shows at the next base,
 * as every ended run did before. Each scrape reads the runs ended within it and since the base
 * through the `ended_at` index: the longer, the dearer a busy fleet's scrape.
 */
export const ENDED_RUNS_LATE_COMMIT_MARGIN_MS = 5 * 60_000;

/**
 * The API's Prometheus metrics, in a registry of its own (two apps in one process, as in the
 * embedded demo or tests, never collide). Fleet gauges — queue depths, runs by status and kind,
 * workers by state — are read when Prometheus scrapes, from Redis and PostgreSQL, so every API
 * replica reports the same fleet and nothing is counted between scrapes. A source that does not
 * answer in time leaves its gauges out of that scrape (and is logged) instead of failing it: they
 * are reset, as prom-client would otherwise serve the last values read, and an alert on a frozen
 * queue depth or worker count would go on judging the fleet as it was before the outage.
 */
@Injectable()
export class PrometheusRegistry implements OnModuleDestroy {
  private readonly logger = new Logger(PrometheusRegistry.name);
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  /** This scrape's waiting runs by class (metrics() starts each scrape afresh). */
  private waits?: Promise<{ resourceClass: string; n: number; oldestWaitSeconds: number }[] | undefined>;
  /** This scrape's projects with a limit of their own. */
  private limited?: Promise<ProjectLoad[] | undefined>;
  /**
   * Every ended run up to a bound, counted in the background every METRICS_ENDED_RUNS_MAX_AGE_MS in
   * this process: there are as many as runs ever recorded, and counting them reads them all. Each
   * scrape adds those ended since the bound (countUnfinishedAndEndedSince), so a run shows in its
   * ended status at the first scrape after it ended. Runs never leave an ended status; a deleted one
   * (only ended runs can be) leaves the base at its next count.
   */
  private readonly endedRuns: EndedRunsBaseCounter;
  private readonly countEndedRuns = () => this.runsRepository.countEndedBefore(ENDED_RUNS_LATE_COMMIT_MARGIN_MS);

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(TRAINING_QUEUES) private readonly queues: TrainingQueues,
    private readonly runsRepository: RunsRepository,
    private readonly workersRepository: WorkersRepository,
    private readonly projectsRepository: ProjectsRepository,
    private readonly uploadsRepository: UploadReservationsRepository,
  ) {
    this.endedRuns = new EndedRunsBaseCounter(this.countEndedRuns, {
      periodMs: config.api.metricsEndedRunsMaxAgeMs,
      deadlineMs: config.redis.connectTimeoutMs,
      logger: this.logger,
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'trainyard_api_' });
    this.httpDuration = new Histogram({
      name: 'trainyard_http_request_duration_seconds',
      help: 'HTTP requests handled by the API, by route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    const queueJobs: Gauge<'queue' | 'class' | 'state'> = new Gauge({
      name: 'trainyard_queue_jobs',
      help: 'Jobs in the training queue of each resource class, by BullMQ state',
      labelNames: ['queue', 'class', 'state'],
      registers: [this.registry],
      collect: async () => {
        queueJobs.reset();
        for (const [resourceClass, queue] of this.queues.entries()) {
          const counts = await this.read('queue depths', () => queue.getJobCounts(...QUEUE_JOB_STATES));
          if (!counts) continue;
          for (const state of QUEUE_JOB_STATES)
            queueJobs.set({ queue: queue.name, class: resourceClass, state }, counts[state] ?? 0);
        }
      },
    });
    const waiting: Gauge<'class'> = new Gauge({
      name: 'trainyard_runs_waiting',
      help: 'Runs waiting for a worker (QUEUED or PREEMPTED, not held), by resource class',
      labelNames: ['class'],
      registers: [this.registry],
      collect: () => this.collectWaits(waiting, (row) => row?.n ?? 0),
    });
    const oldestWait: Gauge<'class'> = new Gauge({
      name: 'trainyard_queue_oldest_wait_seconds',
      help: 'How long the longest-waiting run of each resource class has waited (0 when none waits)',
      labelNames: ['class'],
      registers: [this.registry],
      collect: () => this.collectWaits(oldestWait, (row) => row?.oldestWaitSeconds ?? 0),
    });
    const runs: Gauge<'status' | 'kind'> = new Gauge({
      name: 'trainyard_runs',
      help: 'Runs recorded in PostgreSQL, by status and kind',
      labelNames: ['status', 'kind'],
      registers: [this.registry],
      collect: async () => {
        const base =
          this.config.api.metricsEndedRunsMaxAgeMs === 0
            ? await this.read('ended runs by status', this.countEndedRuns)
            : await this.endedRuns.base();
        const current =
          base &&
          (await this.read('runs by status', () => this.runsRepository.countUnfinishedAndEndedSince(base.endedBefore)));
        if (!base || !current) return runs.reset();
        // Every combination, zeros included: a series that vanishes at 0 breaks rate() and alerts.
        for (const status of RUN_STATUSES) for (const kind of RUN_KINDS) runs.set({ status, kind }, 0);
        for (const row of [...base.rows, ...current]) runs.inc({ status: row.status, kind: row.kind }, row.n);
      },
    });
    const projectLimit: Gauge<'project'> = new Gauge({
      name: 'trainyard_project_max_running',
      help: "A project's own limit on runs training at once (projects with one; the others follow PROJECT_MAX_RUNNING)",
      labelNames: ['project'],
      registers: [this.registry],
      collect: () =>
        this.collectLimited(projectLimit, (p) => {
          if (p.maxRunning !== null) projectLimit.set({ project: p.project }, p.maxRunning);
        }),
    });
    const projectQuota: Gauge<'project'> = new Gauge({
      name: 'trainyard_project_max_queued',
      help: "A project's own quota of runs waiting at once (projects with one; the others follow QUOTA_QUEUED_RUNS)",
      labelNames: ['project'],
      registers: [this.registry],
      collect: () =>
        this.collectLimited(projectQuota, (p) => {
          if (p.maxQueued !== null) projectQuota.set({ project: p.project }, p.maxQueued);
        }),
    });
    const projectPriority: Gauge<'project'> = new Gauge({
      name: 'trainyard_project_max_priority',
      help: "A project's own cap on the priority its specs may name (projects with one; the others follow QUOTA_MAX_PRIORITY)",
      labelNames: ['project'],
      registers: [this.registry],
      collect: () =>
        this.collectLimited(projectPriority, (p) => {
          if (p.maxPriority !== null) projectPriority.set({ project: p.project }, p.maxPriority);
        }),
    });
    const projectUploadQuota: Gauge<'project'> = new Gauge({
      name: 'trainyard_project_max_upload_bytes',
      help: "A project's own quota of bytes its uploaded datasets may hold (projects with one; the others follow QUOTA_PROJECT_UPLOAD_BYTES)",
      labelNames: ['project'],
      registers: [this.registry],
      collect: () =>
        this.collectLimited(projectUploadQuota, (p) => {
          if (p.maxUploadBytes !== null) projectUploadQuota.set({ project: p.project }, p.maxUploadBytes);
        }),
    });
    const projectUploaded: Gauge<'project'> = new Gauge({
      name: 'trainyard_project_uploaded_bytes',
      help: "Bytes of images each project's uploaded datasets hold, what its upload quota counts (projects holding any)",
      labelNames: ['project'],
      registers: [this.registry],
      collect: () =>
        this.collectBytesByProject(projectUploaded, 'uploaded bytes by project', () =>
          this.uploadsRepository.uploadedByProject(),
        ),
    });
    const projectCheckpoints: Gauge<'project'> = new Gauge({
      name: 'trainyard_project_checkpoint_bytes',
      help: "Bytes each project's runs' checkpoints hold in the object store (projects holding any): deleting runs frees them",
      labelNames: ['project'],
      registers: [this.registry],
      collect: () =>
        this.collectBytesByProject(projectCheckpoints, 'checkpoint bytes by project', () =>
          this.projectsRepository.checkpointBytesByProject(),
        ),
    });
    const projectRuns: Gauge<'project' | 'state'> = new Gauge({
      name: 'trainyard_project_runs',
      help: 'Runs of each project with limits of its own, training (running) and waiting for a worker (waiting)',
      labelNames: ['project', 'state'],
      registers: [this.registry],
      collect: () =>
        this.collectLimited(projectRuns, (p) => {
          projectRuns.set({ project: p.project, state: 'running' }, p.running);
          projectRuns.set({ project: p.project, state: 'waiting' }, p.waiting);
        }),
    });
    const workers: Gauge<'state'> = new Gauge({
      name: 'trainyard_workers',
      help: 'Registered workers: alive (heartbeat within 3 intervals), draining, drained, lost (silent longer, not stopped) and stopped',
      labelNames: ['state'],
      registers: [this.registry],
      collect: async () => {
        const counts = await this.read('workers by state', () =>
          this.workersRepository.countByState(this.config.worker.lostAfterMs),
        );
        if (!counts) return workers.reset();
        for (const state of WORKER_STATES) workers.set({ state }, counts[state]);
      },
    });
  }

  /** Ends the background count of ended runs before the database closes (libs/infrastructure's shutdown). */
  onModuleDestroy(): Promise<void> {
    return this.endedRuns.stop();
  }

  /** The exposition text of every metric, for `GET /metrics`. */
  metrics(): Promise<string> {
    // Both per-class waiting gauges read one query per scrape; both per-project gauges another.
    this.waits = undefined;
    this.limited = undefined;
    return this.registry.metrics();
  }

  /**
   * A per-project gauge of the projects with a limit of their own (as many series as operators set
   * limits, never one per project that merely exists); a project whose limit was removed leaves it.
   */
  private async collectLimited(gauge: Gauge<string>, set: (load: ProjectLoad) => void): Promise<void> {
    this.limited ??= this.read('project limits', () => this.projectsRepository.listLimited());
    const rows = await this.limited;
    gauge.reset();
    if (!rows) return;
    for (const row of rows) set(row);
  }

  /** A per-project gauge of bytes, a series for each project `query` answers (none when it does not answer in time). */
  private async collectBytesByProject(
    gauge: Gauge<'project'>,
    what: string,
    query: () => Promise<{ project: string; bytes: number }[]>,
  ): Promise<void> {
    const rows = await this.read(what, query);
    gauge.reset();
    for (const { project, bytes } of rows ?? []) gauge.set({ project }, bytes);
  }

  /** A per-class gauge of the waiting runs; every class present, zeros included. */
  private async collectWaits(
    gauge: Gauge<'class'>,
    value: (row: { n: number; oldestWaitSeconds: number } | undefined) => number,
  ): Promise<void> {
    this.waits ??= this.read('waiting runs by class', () => this.runsRepository.waitingByClass());
    const rows = await this.waits;
    if (!rows) return gauge.reset();
    for (const resourceClass of RESOURCE_CLASSES)
      gauge.set({ class: resourceClass }, value(rows.find((r) => r.resourceClass === resourceClass)));
  }

  private async read<T>(what: string, query: () => Promise<T>): Promise<T | undefined> {
    const deadline = this.config.redis.connectTimeoutMs;
    try {
      return await withDeadline(query(), deadline, `no answer within ${deadline} ms`);
    } catch (err) {
      this.logger.warn(`Metrics: ${what} left out of this scrape: ${(err as Error).message}`);
      return undefined;
    }
  }
}
