import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { loadConfig, type TrainyardConfig } from '@trainyard/config';
import { authorizedFetch, createFreshDatabase, testAdminKey } from '@trainyard/db/testing';
import { createApiApp } from '../create-api-app';
import type { ApiOptions } from '../config/api-options';

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
  /** The API's admin key (TRAINYARD_ADMIN_KEY), and the header that sends it. */
  adminKey: string;
  authHeaders: { authorization: string };
  /** `fetch` with the admin key (a call may set its own Authorization instead). */
  fetch: typeof fetch;
  /** Submits a small synthetic-shapes pretrain named `name` as the admin; its run id. */
  submitPretrain(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The API app on a fresh PostgreSQL database, a queue of its own on the real Redis and a
 * temporary home, listening on a free loopback port, with an admin key (auth is on, as by default). `env` adds or overrides variables (an S3
 * server's, a shorter Redis timeout); `logger` replaces the silence (a test that reads the log lines).
 */
export async function startTestApi(
  options: {
    env?: Record<string, string>;
    openApi?: boolean;
    logger?: ApiOptions['logger'];
    /** The URL the API reaches its fresh database by (a proxy in front of it, say). */
    databaseUrl?: (freshUrl: string) => string;
  } = {},
): Promise<TestApi> {
  const queueName = `test-${randomUUID()}`;
  const database = await createFreshDatabase();
  const home = mkdtempSync(join(tmpdir(), 'trainyard-api-'));
  const adminKey = options.env?.TRAINYARD_ADMIN_KEY ?? testAdminKey();
  const config = loadConfig({
    TRAINYARD_HOME: home,
    DATABASE_URL: options.databaseUrl?.(database.url) ?? database.url,
    LOG_LEVEL: 'error',
    TRAINYARD_ADMIN_KEY: adminKey,
    ...options.env,
  });
  const app = await createApiApp(config, {
    queueName,
    logger: options.logger ?? false,
    shutdownHooks: false,
    openApi: options.openApi ?? false,
  });
  await app.listen(0, '127.0.0.1');
  // On the Redis the app uses (TEST_REDIS unless the test gave REDIS_URL), as the app reaches it:
  // the whole URL, so its password and database number come along.
  const queue = new Queue(queueName, { connection: { url: config.redis.url } });
  const baseUrl = await app.getUrl();
  const adminFetch = authorizedFetch(adminKey);
  return {
    app,
    baseUrl,
    config,
    queue,
    queueName,
    home,
    adminKey,
    authHeaders: { authorization: `Bearer ${adminKey}` },
    fetch: adminFetch,
    async submitPretrain(name: string) {
      const body = JSON.stringify({ kind: 'pretrain', name, dataset: { name: 'synthetic-shapes' } });
      const res = await adminFetch(`${baseUrl}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return ((await res.json()) as { id: string }).id;
    },
    async stop() {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await app.close();
      await database.drop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
