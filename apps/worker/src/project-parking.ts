import { Inject, Injectable, Logger } from '@nestjs/common';
import { DelayedError } from 'bullmq';
import type { TrainyardConfig } from '@trainyard/config';
import { placesFree, ProjectsRepository, type ProjectAtCapacityError, type Run } from '@trainyard/db';
import { CONFIG, TRAINING_QUEUES } from '@trainyard/infrastructure';
import { PARKED_JOB_DELAY_MS, type TrainingQueues } from '@trainyard/queue';
import { JobHandBack } from './job-hand-back';
import { WorkerMetrics } from './metrics/worker-metrics';
import { waitAtMost } from './wait-at-most';

/**
 * How long after parking a job its worker looks again for a place its project freed meanwhile:
 * long enough for BullMQ to have let the job go from the slot that parked it (JobHandBack).
 */
const SELF_RELEASE_DELAY_MS = 100;
/** The longest a slot whose run ended waits for its project's parked jobs to go back in line (releaseBeforeNextJob). */
const RELEASE_WAIT_MS = 2000;

/**
 * A project's limit on runs training at once (its own, else PROJECT_MAX_RUNNING), as a worker
 * keeps it: a job of a project at its limit is parked in BullMQ's delayed set, and let back in line
 * when a run of the project ends.
 */
@Injectable()
export class ProjectParking {
  private readonly logger = new Logger(ProjectParking.name);

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    private readonly projects: ProjectsRepository,
    private readonly metrics: WorkerMetrics,
    @Inject(TRAINING_QUEUES) private readonly queues: TrainingQueues,
  ) {}

  /**
   * A run of the project ended, so it may have a place free: its parked jobs go back in line
   * before this slot takes its next job. BullMQ fetches that job as this one completes (or as the
   * consumers resume, ClassConsumers), so a release still under way then would leave the place to
   * whatever is in line now: a later job of the project, or one of lower priority. It costs one
   * Redis call (ZCARD) per ended run when nothing is parked. Bounded: a Redis or PostgreSQL that
   * does not answer holds the slot RELEASE_WAIT_MS at most; the release goes on and reports its own
   * failures, and a parked job comes back on its own within its delay anyway.
   */
  async releaseBeforeNextJob(project: string): Promise<void> {
    await waitAtMost(this.releaseProjectPlaces(project), RELEASE_WAIT_MS);
  }

  /**
   * The run's project trains as many runs as its limit allows: its job waits in BullMQ's
   * delayed set, recorded for its project, until a run of the project ends and its worker lets it
   * back in line (or PARKED_JOB_DELAY_MS passes), rather than coming back every few seconds to be
   * given back again. The run stays QUEUED and its attempt count untouched.
   */
  park(run: Run, atLimit: ProjectAtCapacityError): never {
    this.logger.log(`run ${run.id} parked until a run of its project ends: ${atLimit.message}`);
    this.metrics.projectLimitJobs.inc({ action: 'parked' });
    throw new JobHandBack(async (held, token) => {
      // Delayed first, recorded second: a release never finds it recorded but still held here.
      await held.moveToDelayed(Date.now() + PARKED_JOB_DELAY_MS, token);
      await this.queues.park(run.id, run.project, held.priority, held.timestamp);
      // A run of the project that ended after the check above, before the record, released without
      // this job: look again now that it is recorded, once BullMQ has let the job go from this slot
      // (JobHandBack), so this worker does not take it back while this slot still holds its lock.
      setTimeout(() => void this.releaseProjectPlaces(run.project), SELF_RELEASE_DELAY_MS).unref();
      throw new DelayedError();
    }, 'parked');
  }

  /**
   * Lets as many of the project's parked jobs back in line as it has places free under its limit
   * (its own, else PROJECT_MAX_RUNNING); all of them when no limit holds it any more.
   */
  private async releaseProjectPlaces(project: string): Promise<void> {
    try {
      // Nothing parked, the common case: one Redis call and no query.
      if (!(await this.queues.hasParked(project))) return;
      const load = await this.projects.load(project);
      const free = placesFree(load.maxRunning ?? this.config.limits.runningRunsPerProject ?? null, load.running);
      if (free <= 0) return;
      const released = await this.queues.releaseParked(project, free);
      this.metrics.projectLimitJobs.inc({ action: 'released' }, released.length);
      if (released.length > 0)
        this.logger.log(
          `project ${project} has ${free === Number.POSITIVE_INFINITY ? 'no limit now' : `${free} place(s) free under its limit`}: ${released.join(', ')} back in line`,
        );
    } catch (err) {
      // Parked jobs come back on their own after PARKED_JOB_DELAY_MS.
      this.logger.warn(`could not release the parked runs of project ${project}: ${err}`);
    }
  }
}
