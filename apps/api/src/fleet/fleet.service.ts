import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import {
  QUEUE_JOB_STATES,
  type ActiveJobView,
  type DrainMode,
  type QueueList,
  type QueueView,
  type WorkerList,
  type WorkerView,
} from '@trainyard/contracts';
import { RunsRepository, WorkersRepository } from '@trainyard/db';
import type { TrainingQueue, TrainingQueues } from '@trainyard/queue';
import { CONFIG, TRAINING_QUEUES } from '@trainyard/infrastructure';
import { fromRedis } from '../common/with-deadline';

const ACTIVE_JOBS_SHOWN = 50;

/** Queue depths and the worker fleet, for the dashboard's queues & workers page; drains. */
@Injectable()
export class FleetService {
  constructor(
    @Inject(TRAINING_QUEUES) private readonly trainingQueues: TrainingQueues,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    private readonly workersRepository: WorkersRepository,
    private readonly runsRepository: RunsRepository,
  ) {}

  /**
   * One entry per resource class: BullMQ's counts and active jobs, and the runs waiting in
   * PostgreSQL. A 503 naming Redis when it does not answer within its deadline.
   */
  async queues(project?: string): Promise<QueueList> {
    const waiting = new Map((await this.runsRepository.waitingByClass()).map((w) => [w.resourceClass, w]));
    const jobsOf = (queue: TrainingQueue) =>
      fromRedis(
        Promise.all([queue.getJobCounts(...QUEUE_JOB_STATES), queue.getActive(0, ACTIVE_JOBS_SHOWN - 1)]),
        this.config.redis.connectTimeoutMs,
        'Queue depths are unavailable',
      );
    const classes = await Promise.all(
      this.trainingQueues
        .entries()
        .map(async ([resourceClass, queue]) => ({ resourceClass, queue, jobs: await jobsOf(queue) })),
    );
    // A project's key sees the depths (numbers) but only its own project's jobs: one query for all classes.
    const shown =
      project === undefined
        ? null
        : new Set(
            await this.runsRepository.idsInProject(
              classes.flatMap(({ jobs: [, active] }) => active.map((job) => job.data?.runId).filter(isString)),
              project,
            ),
          );
    const queues = classes.map(({ resourceClass, queue, jobs: [counts, all] }): QueueView => {
      const active = shown === null ? all : all.filter((job) => shown.has(job.data?.runId));
      return {
        name: queue.name,
        resourceClass,
        counts,
        active: active.map((job): ActiveJobView => ({
          // A job's id is its run's id (enqueueRun).
          id: job.id ?? job.data.runId,
          name: job.name,
          runId: job.data?.runId ?? null,
          // 0 until the worker's first report, then the RunProgress it reported.
          progress: job.progress as ActiveJobView['progress'],
          attemptsMade: job.attemptsMade,
          processedOn: job.processedOn ?? null,
        })),
        waitingRuns: waiting.get(resourceClass)?.n ?? 0,
        oldestWaitSeconds: waiting.get(resourceClass)?.oldestWaitSeconds ?? null,
      };
    });
    return { queues };
  }

  /** The fleet; with `project`, each worker's runs of that project only. */
  async workers(project?: string): Promise<WorkerList> {
    // The same rule the reconciler uses to take a worker's runs over (3 heartbeat intervals of silence).
    return { workers: await this.workersRepository.fleet(this.config.worker.lostAfterMs, project) };
  }

  /**
   * Asks a live worker to drain; it acts at its next heartbeat. 404 for an unknown worker; 409
   * naming its state for a lost or stopped one: the order travels in a heartbeat's answer, which a
   * lost worker no longer asks for, so a 202 would promise a drain that never happens.
   */
  async drain(id: string, mode: DrainMode): Promise<WorkerView> {
    const { lostAfterMs } = this.config.worker;
    if (!(await this.workersRepository.requestDrain(id, mode, lostAfterMs))) throw await this.notLive(id, 'drained');
    return this.worker(id);
  }

  /**
   * Takes a drain back: the worker consumes again at its next heartbeat (a lost one, should it come
   * back). 404 for an unknown worker, 409 for a stopped one.
   */
  async undrain(id: string): Promise<WorkerView> {
    if (!(await this.workersRepository.cancelDrain(id))) throw await this.notLive(id, 'undrained');
    return this.worker(id);
  }

  /** Why a drain (or its taking back) did not apply: 404 unknown, else 409 naming the worker's state. */
  private async notLive(id: string, what: 'drained' | 'undrained'): Promise<NotFoundException | ConflictException> {
    const worker = await this.workersRepository.get(id, this.config.worker.lostAfterMs);
    if (!worker) return notRunning(id);
    const why =
      worker.state === 'lost'
        ? `is lost (no heartbeat since ${worker.lastHeartbeatAt}): a drain reaches a worker in its heartbeat's answer, and its runs are taken over by other workers; it is recorded as stopped WORKER_LOST_RETIRE_MS after it was lost`
        : worker.state === 'stopped'
          ? `is stopped (${worker.stopReason === 'lost' ? 'retired after it was lost' : 'it stopped itself'}, ${worker.stoppedAt})`
          : `is ${worker.state}`;
    return new ConflictException({
      message: `Worker ${id} ${why}; it cannot be ${what}`,
      workerState: worker.state,
    });
  }

  private async worker(id: string): Promise<WorkerView> {
    const worker = await this.workersRepository.get(id, this.config.worker.lostAfterMs);
    if (!worker) throw notRunning(id);
    return worker;
  }
}

function notRunning(id: string): NotFoundException {
  return new NotFoundException({ message: `No worker ${id}` });
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}
