import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@trainyard/config';
import { printStartFailure } from '@trainyard/config/logger';
import { DatabaseUnreachableError, MigrationError } from '@trainyard/db';
import { exitAfterShutdownSignal } from '@trainyard/infrastructure';
import { RedisEvictionPolicyError, RedisUnavailableError } from '@trainyard/queue';
import { ApiListenError, listenError } from './api-listen.error';
import { createApiApp } from './create-api-app';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApiApp(config);
  const logger = new Logger('Bootstrap');
  // A request waiting on a PostgreSQL that does not answer holds the HTTP server's close, and its
  // query pg's pool: past API_SHUTDOWN_TIMEOUT_MS the API exits anyway, inside the grace period.
  const timeoutMs = config.api.shutdownTimeoutMs;
  exitAfterShutdownSignal(
    timeoutMs,
    `shutdown not done within ${timeoutMs} ms (API_SHUTDOWN_TIMEOUT_MS): exiting without waiting longer for the requests in flight or closing its connections`,
    (message) => logger.warn(message),
  );
  try {
    await app.listen(config.api.port, config.api.host);
  } catch (error) {
    throw listenError(config.api.host, config.api.port, error);
  }
  logger.log(`Trainyard API listening on http://${config.api.host}:${config.api.port} (OpenAPI at /docs)`);
}

main().catch((err: unknown) => {
  // Configuration, a missing Redis or database, a schema older than this code (MIGRATE_ON_START=false) and a
  // taken port are the usual start problems: print the message alone, which already lists every bad setting, says
  // how to start Redis or names the migrate command; anything else with its stack.
  const explained =
    err instanceof ConfigError ||
    err instanceof RedisUnavailableError ||
    err instanceof RedisEvictionPolicyError ||
    err instanceof MigrationError ||
    err instanceof DatabaseUnreachableError ||
    err instanceof ApiListenError;
  // Through the logger under LOG_JSON (one JSON line, like the rest of the output).
  printStartFailure('Bootstrap', err, explained);
  process.exit(1);
});
