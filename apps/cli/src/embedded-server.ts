import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApiApp, DATABASE } from '@trainyard/api-app';
import { createWorker } from '@trainyard/worker-app';
import { ConfigError, loadConfig } from '@trainyard/config';
import { EmbeddedDatabaseInUseError, embeddedLockHolder, embeddedLockPath, type Database } from '@trainyard/db';
import { exitAfterShutdownSignal } from '@trainyard/infrastructure';
import { RedisUnavailableError } from '@trainyard/queue';
import { EMBEDDED_DATABASE_IN_USE_EXIT_CODE, embeddedServerStopWithinMs } from './embedded-process';

/**
 * The zero-configuration process behind `npm run demo`: the API and one worker in one process,
 * sharing one open database, because the embedded PGlite allows a single opener per process.
 * In production the two run as separate processes (apps/api, apps/worker). This is the one place
 * allowed to compose both apps (see eslint.config.mjs).
 */
async function main(): Promise<void> {
  // Handled from the start: a signal while the worker is still being made (the API may already
  // answer /readyz) waits for it, then stops everything, rather than kill the process with PGlite open.
  const shutdown: { stop?: (signal: string) => Promise<void>; asked?: string } = {};
  const onSignal = (signal: string) => (shutdown.stop ? void shutdown.stop(signal) : (shutdown.asked ??= signal));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  const config = loadConfig();
  // The worker stops first (WORKER_SHUTDOWN_TIMEOUT_MS and its margin), then the API
  // (API_SHUTDOWN_TIMEOUT_MS): past both, the process exits whatever still waits (a request, or
  // pg's pool, waiting on a PostgreSQL given by DATABASE_URL that does not answer), before the demo
  // (embeddedServerKillAfterMs) would kill it. PGlite answers in this process: a shutdown on it ends sooner.
  const stopWithinMs = embeddedServerStopWithinMs(config);
  exitAfterShutdownSignal(
    stopWithinMs,
    `shutdown not done within ${stopWithinMs} ms (WORKER_SHUTDOWN_TIMEOUT_MS, 1 s, API_SHUTDOWN_TIMEOUT_MS): exiting without waiting longer for the requests in flight or closing its connections`,
    (message) => new Logger('EmbeddedServer').warn(message),
  );
  // Another server holding the embedded database is said here, in one message, before Nest boots:
  // thrown from inside Nest (the database provider takes the lock), Nest's own handler would log it
  // first with a dozen stack frames. (Taken in the instant between this check and the open, it
  // still fails as safely, only less quietly.)
  if (!config.database.url) {
    const { embeddedPath } = config.database;
    const holder = embeddedLockHolder(embeddedPath);
    if (holder) throw new EmbeddedDatabaseInUseError(embeddedPath, holder, embeddedLockPath(embeddedPath));
  }
  const api = await createApiApp(config, { shutdownHooks: false });
  const database = api.get<Database>(DATABASE);
  // Listen before the worker exists: a port already taken fails the start before this process
  // has taken a single job off the queue.
  try {
    await api.listen(config.api.port, config.api.host);
  } catch (error) {
    await api.close().catch(() => undefined);
    await database.close();
    throw error;
  }
  const worker = await createWorker(config, { database });
  const logger = new Logger('EmbeddedServer');
  logger.log(`API on http://${config.api.host}:${config.api.port} with one embedded worker`);

  let stopping = false;
  shutdown.stop = async (signal: string) => {
    // A second Ctrl-C (the terminal sends it to the demo and to this process) must not cut the
    // shutdown short: PGlite flushes its data directory only on close.
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: stopping the worker, then the API`);
    await worker.close();
    await api.close();
    await database.close();
    process.exit(0);
  };
  if (shutdown.asked) await shutdown.stop(shutdown.asked);
}

// Whoever reads this process's output may be gone (a demo killed hard, `| head`): a write to a
// closed pipe is then EPIPE, which must not kill the process mid-shutdown with PGlite unclosed.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof RedisUnavailableError) console.error(err.message);
  else if (err instanceof EmbeddedDatabaseInUseError) {
    console.error(err.message);
    process.exit(EMBEDDED_DATABASE_IN_USE_EXIT_CODE);
  } else console.error(err);
  process.exit(1);
});
