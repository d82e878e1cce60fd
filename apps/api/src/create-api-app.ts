import type { IncomingMessage, Server } from 'node:http';
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ConfigError, type TrainyardConfig } from '@trainyard/config';
import { assertRedisReachable } from '@trainyard/queue';
import { AppModule } from './app.module';
import type { ApiOptions } from './config/api-options';
import { authenticateEarly, bodyIsRead, isPublicBodyPath } from './auth/authenticate-early';
import { hardenHttp, isLoopbackHost, JSON_BODY_LIMIT, mediaType } from './http/http-hardening';
import { createLogger } from './logging/create-logger';
import { assignRequestId, logWithRequestId } from './logging/request-id';
import { httpMetrics, routeByRouter } from './metrics/http-metrics.middleware';
import { requestBodyDeadline } from './http/request-body-deadline';
import { PrometheusRegistry } from './metrics/prometheus.registry';
import { setupOpenApi } from './openapi/setup-openapi';

export type { ApiOptions } from './config/api-options';

/**
 * Builds the API application (initialised, not yet listening) for main.ts, the demo (which
 * also runs a worker in the same process) and the integration tests. Throws
 * RedisUnavailableError quickly when Redis is down, before anything else is opened.
 * The caller listens: `await app.listen(config.api.port, config.api.host)`.
 */
export async function createApiApp(config: TrainyardConfig, options: ApiOptions = {}): Promise<INestApplication> {
  if (!config.auth.enabled && !isLoopbackHost(config.api.host)) {
    throw new ConfigError([
      `TRAINYARD_AUTH=off is allowed only while the API listens on loopback, not on API_HOST=${config.api.host}`,
    ]);
  }
  await assertRedisReachable(config.redis.url, config.redis.connectTimeoutMs);
  const logger = options.logger === undefined ? createLogger(config) : options.logger;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), {
    logger,
    // Let errors reach the caller (main.ts prints them and exits 1) instead of Nest exiting itself.
    abortOnError: false,
    // JSON only: no urlencoded or text parser, so an HTML form from another site cannot post.
    bodyParser: false,
  });
  app.disable('x-powered-by');
  // First, so every request is timed from its arrival and counted with the status it was sent,
  // those refused by middleware or guards before any interceptor included.
  const express = app.getHttpAdapter().getInstance() as { router?: { stack?: never[] } };
  app.use(
    httpMetrics(
      app.get(PrometheusRegistry).httpDuration,
      routeByRouter(() => express.router),
    ),
  );
  app.use(assignRequestId);
  // Node's 5-minute requestTimeout would cut a large dataset upload: off, and kept for every other
  // route's body by requestBodyDeadline (headersTimeout still bounds a request's headers).
  (app.getHttpServer() as Server).requestTimeout = 0;
  app.use(requestBodyDeadline(config.limits.requestBodyMs));
  hardenHttp(app, config);
  // A body is read only once its request's key is proven: no one without a key makes the API parse 1 MB.
  app.use(authenticateEarly(app, (req) => bodyIsRead(req) && !isPublicBodyPath(req.url)));
  app.useBodyParser('json', {
    limit: JSON_BODY_LIMIT,
    type: (req: IncomingMessage) => bodyIsRead(req) && mediaType(req.headers['content-type']) === 'application/json',
  });
  app.use(logWithRequestId);
  if (options.shutdownHooks ?? true) app.enableShutdownHooks();
  if (options.openApi ?? true) setupOpenApi(app);
  await app.init();
  return app;
}
