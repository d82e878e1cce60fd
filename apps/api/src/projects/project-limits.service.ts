import { Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { ProjectLimitsList, ProjectLimitsView } from '@trainyard/contracts';
import {
  placesFree,
  ProjectsRepository,
  UploadReservationsRepository,
  WorkersRepository,
  type ProjectLimitsChange,
  type ProjectLoad,
  type UploadUsage,
} from '@trainyard/db';
import { CONFIG, TRAINING_QUEUES } from '@trainyard/infrastructure';
import type { TrainingQueues } from '@trainyard/queue';
import { fromRedis } from '../common/with-deadline';
import { fleetDefaultMaxRunning, type FleetDefaultLimit } from './fleet-default-limit';

/** A project's own PROJECT_MAX_RUNNING, QUOTA_QUEUED_RUNS, QUOTA_MAX_PRIORITY and QUOTA_PROJECT_UPLOAD_BYTES: read, set and removed by operators. */
@Injectable()
export class ProjectLimitsService {
  private readonly logger = new Logger(ProjectLimitsService.name);

  constructor(
    private readonly projects: ProjectsRepository,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(TRAINING_QUEUES) private readonly queues: TrainingQueues,
    private readonly workers: WorkersRepository,
    private readonly uploads: UploadReservationsRepository,
  ) {}

  async get(project: string): Promise<ProjectLimitsView> {
    const [load, fleet, usage] = await Promise.all([
      this.projects.load(project),
      this.fleetDefault(),
      this.uploads.usage([project]),
    ]);
    return this.view(load, fleet, usage.get(project)!);
  }

  async list(): Promise<ProjectLimitsList> {
    const [loads, fleet] = await Promise.all([this.projects.listLimited(), this.fleetDefault()]);
    const usage = await this.uploads.usage(loads.map((load) => load.project));
    return {
      ...fleet,
      defaultMaxQueued: this.defaultMaxQueued(),
      defaultMaxPriority: this.defaultMaxPriority(),
      defaultMaxUploadBytes: this.defaultMaxUploadBytes(),
      items: loads.map((load) => this.view(load, fleet, usage.get(load.project)!)),
    };
  }

  /**
   * Changes the project's own limits (null: back to the default; left out: as it is). A running
   * limit raised or removed lets the jobs parked at the old one back in line now, as many as have a
   * place, rather than when one of the project's runs ends or their 60 s delay does; a limit
   * lowered stops no run that trains already: the project starts none until it is below the new
   * one. A lower queued quota refuses submits from then on and cancels nothing already waiting; a
   * lower priority cap refuses specs above it from then on and leaves the runs queued as they are.
   */
  async set(project: string, change: ProjectLimitsChange): Promise<ProjectLimitsView> {
    await this.projects.setLimits(project, change);
    const limits = await this.get(project);
    const free = placesFree(limits.effectiveMaxRunning, limits.running);
    if (change.maxRunning !== undefined && free > 0) {
      // The limit is stored either way; a parked job comes back on its own within its delay.
      await fromRedis(
        this.queues.releaseParked(project, free),
        this.config.redis.connectTimeoutMs,
        'Parked runs were not let back in line',
      ).then(
        (released) => {
          if (released.length > 0) this.logger.log(`project ${project}: ${released.join(', ')} back in line`);
        },
        (error: Error) => this.logger.warn(`project ${project}: parked runs not let back in line: ${error.message}`),
      );
    }
    return limits;
  }

  /** The live workers' PROJECT_MAX_RUNNING (one query), resolved with the API's own. */
  private async fleetDefault(): Promise<FleetDefaultLimit> {
    const workersMaxRunning = await this.workers.liveProjectMaxRunning(this.config.worker.lostAfterMs);
    return {
      defaultMaxRunning: fleetDefaultMaxRunning(this.config.limits.runningRunsPerProject, workersMaxRunning),
      workersMaxRunning,
    };
  }

  private defaultMaxQueued(): number {
    return this.config.limits.queuedRunsPerProject;
  }

  private defaultMaxPriority(): number {
    return this.config.limits.maxPriority;
  }

  private defaultMaxUploadBytes(): number {
    return this.config.limits.projectUploadBytes;
  }

  private view(load: ProjectLoad, fleet: FleetDefaultLimit, uploads: UploadUsage): ProjectLimitsView {
    return {
      project: load.project,
      maxRunning: load.maxRunning,
      ...fleet,
      effectiveMaxRunning: load.maxRunning ?? fleet.defaultMaxRunning,
      maxQueued: load.maxQueued,
      defaultMaxQueued: this.defaultMaxQueued(),
      effectiveMaxQueued: load.maxQueued ?? this.defaultMaxQueued(),
      maxPriority: load.maxPriority,
      defaultMaxPriority: this.defaultMaxPriority(),
      effectiveMaxPriority: load.maxPriority ?? this.defaultMaxPriority(),
      maxUploadBytes: load.maxUploadBytes,
      defaultMaxUploadBytes: this.defaultMaxUploadBytes(),
      effectiveMaxUploadBytes: load.maxUploadBytes ?? this.defaultMaxUploadBytes(),
      uploadedBytes: uploads.uploaded,
      uploadsInProgressBytes: uploads.reserved,
      checkpointBytes: load.checkpointBytes,
      running: load.running,
      waiting: load.waiting,
    };
  }
}
