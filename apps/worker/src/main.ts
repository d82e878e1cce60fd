import 'reflect-metadata';
import { ConfigError, loadConfig, logLevelsUpTo } from '@trainyard/config';
import { printStartFailure, SafeConsoleLogger } from '@trainyard/config/logger';
import { DatabaseUnreachableError, MigrationError } from '@trainyard/db';
import { assertRedisReachable, RedisEvictionPolicyError, RedisUnavailableError } from '@trainyard/queue';
import { createWorker } from './create-worker';
import { NoGpuError } from './devices/worker-devices';
import { exitPastShutdownDeadline } from './shutdown-deadline';
import { WorkerMetricsListenError } from './metrics/worker-metrics.server';
import { WorkerHost } from './worker-host.service';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = new SafeConsoleLogger('worker', { json: config.log.json, logLevels: logLevelsUpTo(config.log.level) });
  await assertRedisReachable(config.redis.url, config.redis.connectTimeoutMs);
  const app = await createWorker(config, { logger });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  exitPastShutdownDeadline(config.worker.shutdownTimeoutMs, (message) => logger.warn(message, 'WorkerHost'));
  // Its jobs back in the queue and PostgreSQL silent, nothing is left to wait for but the backstop:
  // exit now, as the backstop would (1).
  app.get(WorkerHost).exitOnceJobsBackIfDatabaseSilent((message) => {
    logger.warn(message, 'WorkerHost');
    process.exit(1);
  });
}

main().catch((err) => {
  // Config, Redis, database, schema and missing-GPU errors already say what is wrong and how to fix it: print them plainly.
  const plain =
    err instanceof ConfigError ||
    err instanceof RedisUnavailableError ||
    err instanceof RedisEvictionPolicyError ||
    err instanceof MigrationError ||
    err instanceof DatabaseUnreachableError ||
    err instanceof NoGpuError ||
    err instanceof WorkerMetricsListenError;
  printStartFailure('Bootstrap', err, plain);
  process.exit(1);
});
