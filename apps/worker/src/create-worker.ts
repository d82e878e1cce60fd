import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { Database } from '@trainyard/db';
import { WorkerModule } from './worker.module';

export interface CreateWorkerOptions {
  queueName?: string;
  /** Share an open database (the demo's embedded PGlite) instead of opening one. */
  database?: Database;
  logger?: LoggerService | false;
}

/** A headless Nest application context (no HTTP server) that consumes the training queue. */
export async function createWorker(
  config: TrainyardConfig,
  opts: CreateWorkerOptions = {},
): Promise<INestApplicationContext> {
  const workerId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const app = await NestFactory.createApplicationContext(
    WorkerModule.register(config, { queueName: opts.queueName ?? config.queue.name, workerId }, opts.database),
    { logger: opts.logger, abortOnError: false },
  );
  await app.init();
  return app;
}
