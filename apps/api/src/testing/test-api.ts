import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { loadConfig, type TrainyardConfig } from '@trainyard/config';
import { createFreshDatabase } from '@trainyard/db/testing';
import { createApiApp } from '../create-api-app';

export const TEST_REDIS = { host: '127.0.0.1', port: 6379 };

/** A live API for integration tests, and what it stands on; `stop` removes all of it. */
export interface TestApi {
  app: INestApplication;
  baseUrl: string;
  config: TrainyardConfig;
  /** The API's own queue on the real Redis, for looking at (and emptying) its jobs. */
  queue: Queue;
  queueName: string;
  /** TRAINYARD_HOME: a temporary folder (local object store, caches). */
  home: string;
  stop(): Promise<void>;
}

/**
 * The API app on a fresh PostgreSQL database, a queue of its own on the real Redis and a
 * temporary home, listening on a free loopback port. `env` adds or overrides variables (an S3
 * server's, a shorter Redis timeout).
 */
export async function startTestApi(options: { env?: Record<string, string>; openApi?: boolean } = {}): Promise<TestApi> {
  const queueName = `test-${randomUUID()}`;
  const database = await createFreshDatabase();
  const home = mkdtempSync(join(tmpdir(), 'trainyard-api-'));
  const config = loadConfig({ TRAINYARD_HOME: home, DATABASE_URL: database.url, LOG_LEVEL: 'error', ...options.env });
  const app = await createApiApp(config, { queueName, logger: false, shutdownHooks: false, openApi: options.openApi ?? false });
  await app.listen(0, '127.0.0.1');
  const queue = new Queue(queueName, { connection: TEST_REDIS });
  return {
    app,
    baseUrl: await app.getUrl(),
    config,
    queue,
    queueName,
    home,
    async stop() {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await app.close();
      await database.drop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
