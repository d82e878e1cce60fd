import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { TrainyardConfig } from '@trainyard/config';
import { assertRedisReachable } from '@trainyard/queue';
import { AppModule } from './app.module';
import type { ApiOptions } from './config/api-options';
import { createLogger } from './logging/create-logger';
import { setupOpenApi } from './openapi/setup-openapi';

export type { ApiOptions } from './config/api-options';

/**
 * Builds the API application (initialised, not yet listening) for main.ts, the demo (which
 * also runs a worker in the same process) and the integration tests. Throws
 * RedisUnavailableError quickly when Redis is down, before anything else is opened.
 * The caller listens: `await app.listen(config.api.port, config.api.host)`.
 */
export async function createApiApp(config: TrainyardConfig, options: ApiOptions = {}): Promise<INestApplication> {
  await assertRedisReachable(config.redis.url, config.redis.connectTimeoutMs);
  const logger = options.logger === undefined ? createLogger(config) : options.logger;
  const app = await NestFactory.create(AppModule.forRoot(config, options), {
    logger,
    // Let errors reach the caller (main.ts prints them and exits 1) instead of Nest exiting itself.
    abortOnError: false,
  });
  if (options.shutdownHooks ?? true) app.enableShutdownHooks();
  if (options.openApi ?? true) setupOpenApi(app);
  await app.init();
  return app;
}
