import { Inject, Injectable } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { Database } from '@trainyard/db';
import { QUEUE_JOB_STATES, type TrainingQueue } from '@trainyard/queue';
import { TRAINYARD_CONFIG } from '../config/config.tokens';
import { DATABASE, TRAINING_QUEUE } from '../infrastructure/infrastructure.tokens';

const ACTIVE_JOBS_SHOWN = 50;

/** Queue depths and the worker fleet, for the dashboard's queues & workers page. */
@Injectable()
export class FleetService {
  constructor(
    @Inject(TRAINING_QUEUE) private readonly queue: TrainingQueue,
    @Inject(DATABASE) private readonly database: Database,
    @Inject(TRAINYARD_CONFIG) private readonly config: TrainyardConfig,
  ) {}

  async queues() {
    const [counts, active] = await Promise.all([this.queue.getJobCounts(...QUEUE_JOB_STATES), this.queue.getActive(0, ACTIVE_JOBS_SHOWN - 1)]);
    return {
      queues: [
        {
          name: this.queue.name,
          counts,
          active: active.map((job) => ({ id: job.id, name: job.name, runId: job.data?.runId ?? null, progress: job.progress, attemptsMade: job.attemptsMade, processedOn: job.processedOn ?? null })),
        },
      ],
    };
  }

  async workers() {
    const rows = await this.database.prisma.worker.findMany({
      orderBy: [{ stoppedAt: { sort: 'desc', nulls: 'first' } }, { lastHeartbeatAt: 'desc' }],
      take: 200,
      include: { attempts: { where: { outcome: 'RUNNING' }, select: { runId: true, number: true, startedAt: true } } },
    });
    const now = Date.now();
    // The same rule the reconciler uses to take a worker's runs over (3 heartbeat intervals of silence).
    const lostAfterMs = this.config.worker.lostAfterMs;
    return {
      workers: rows.map(({ attempts, ...worker }) => ({
        ...worker,
        state: worker.stoppedAt ? 'stopped' : now - worker.lastHeartbeatAt.getTime() > lostAfterMs ? 'lost' : 'alive',
        running: attempts,
      })),
    };
  }
}
