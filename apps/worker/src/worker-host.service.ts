import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { Worker } from 'bullmq';
import type Redis from 'ioredis';
import type { TrainyardConfig } from '@trainyard/config';
import type { TrainingJobData } from '@trainyard/contracts';
import { WorkersRepository, type Database } from '@trainyard/db';
import { assertNoEviction, type TrainingQueue } from '@trainyard/queue';
import { ActiveTrainings } from './active-trainings';
import { Reconciler } from './reconciler.service';
import { TrainingProcessor } from './training.processor';
import { CONFIG, DATABASE, REDIS, TRAINING_QUEUE, WORKER_OPTIONS, type WorkerOptions } from './worker.tokens';

/**
 * Owns the BullMQ worker: refuses an evicting Redis, starts consuming and reconciling at
 * bootstrap; at shutdown (SIGTERM) stops taking jobs, preempts running trainings (checkpoint,
 * back to the queue) and exits within WORKER_SHUTDOWN_TIMEOUT_MS.
 */
@Injectable()
export class WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerHost.name);
  private worker?: Worker<TrainingJobData>;
  private heartbeat?: NodeJS.Timeout;

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(DATABASE) private readonly database: Database,
    @Inject(TRAINING_QUEUE) private readonly queue: TrainingQueue,
    private readonly workers: WorkersRepository,
    private readonly processor: TrainingProcessor,
    private readonly active: ActiveTrainings,
    private readonly reconciler: Reconciler,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { worker: settings } = this.config;
    // An evicting Redis silently drops queued jobs and locks: refuse it before taking any work.
    await assertNoEviction(this.redis, (message) => this.logger.warn(message));
    await this.workers.register({
      id: this.options.workerId,
      hostname: hostname(),
      pid: process.pid,
      backend: this.config.engine.backend ?? null,
      gpu: null,
      concurrency: settings.concurrency,
    });
    this.heartbeat = setInterval(() => {
      this.workers.heartbeat(this.options.workerId).catch((err) => this.logger.warn(`heartbeat failed: ${err}`));
    }, settings.heartbeatIntervalMs);
    this.heartbeat.unref();

    this.worker = new Worker<TrainingJobData>(this.options.queueName, (job, token) => this.processor.process(job, token), {
      connection: this.redis,
      concurrency: settings.concurrency,
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      // Stalls count as attempts too: the processor fails a run after WORKER_MAX_ATTEMPTS crashes
      // (counted in PostgreSQL); BullMQ's own limit is the backstop the reconciler then settles.
      maxStalledCount: settings.maxAttempts,
    });
    this.worker.on('error', (err) => this.logger.error(`queue error: ${err.message}`));
    this.worker.on('stalled', (jobId) => this.logger.warn(`job ${jobId} stalled and goes back to the queue`));
    this.worker.on('failed', (job, err) => this.logger.warn(`job ${job?.id} failed: ${err.message}`));
    this.reconciler.start();
    this.logger.log(
      `worker ${this.options.workerId} consuming "${this.options.queueName}" (concurrency ${settings.concurrency})`,
    );
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.reconciler.stop();
    if (this.worker) {
      const timeoutMs = this.config.worker.shutdownTimeoutMs;
      const preempted = this.active.preemptAll();
      this.logger.log(`${signal ?? 'shutdown'}: preempting ${preempted} running trainings, waiting up to ${timeoutMs} ms`);
      // close() stops taking jobs at once and then waits for active ones with no bound; past the
      // deadline, force it (the job's lock expires and another worker takes it as stalled).
      const closed = this.worker.close().then(() => true);
      const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
      if (!(await Promise.race([closed, timedOut]))) {
        this.logger.warn('shutdown deadline passed; closing the worker forcibly');
        await this.worker.close(true);
      }
    }
    await this.queue.close().catch(() => undefined);
    await this.workers.stop(this.options.workerId).catch(() => undefined);
    this.redis.disconnect();
    // A database handed in by the embedded demo belongs to its owner, who closes it.
    if (!this.options.sharedDatabase) await this.database.close();
  }
}
