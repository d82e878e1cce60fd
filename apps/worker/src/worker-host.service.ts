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
import { TrainingProcessor } from './training.processor';
import { CONFIG, DATABASE, REDIS, WORKER_OPTIONS, type WorkerOptions } from './worker.tokens';

const HEARTBEAT_MS = 10_000;

/** Owns the BullMQ worker: starts consuming at bootstrap, drains with a deadline at shutdown. */
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
    private readonly workers: WorkersRepository,
    private readonly processor: TrainingProcessor,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { worker: settings } = this.config;
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
    }, HEARTBEAT_MS);
    this.heartbeat.unref();

    this.worker = new Worker<TrainingJobData>(this.options.queueName, (job) => this.processor.process(job), {
      connection: this.redis,
      concurrency: settings.concurrency,
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      maxStalledCount: settings.maxAttempts,
    });
    this.worker.on('error', (err) => this.logger.error(`queue error: ${err.message}`));
    this.worker.on('stalled', (jobId) => this.logger.warn(`job ${jobId} stalled and goes back to the queue`));
    this.worker.on('failed', (job, err) => this.logger.warn(`job ${job?.id} failed: ${err.message}`));
    this.logger.log(
      `worker ${this.options.workerId} consuming "${this.options.queueName}" (concurrency ${settings.concurrency})`,
    );
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.worker) {
      const timeoutMs = this.config.worker.shutdownTimeoutMs;
      this.logger.log(`${signal ?? 'shutdown'}: waiting up to ${timeoutMs} ms for running jobs`);
      // worker.close() waits for active jobs with no bound; past the deadline, force it.
      const closed = this.worker.close().then(() => true);
      const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
      if (!(await Promise.race([closed, timedOut]))) {
        this.logger.warn('shutdown deadline passed; closing the worker forcibly');
        await this.worker.close(true);
      }
    }
    await this.workers.stop(this.options.workerId).catch(() => undefined);
    this.redis.disconnect();
    // A database handed in by the embedded demo belongs to its owner, who closes it.
    if (!this.options.sharedDatabase) await this.database.close();
  }
}
