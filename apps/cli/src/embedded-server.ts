import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApiApp, DATABASE } from '@trainyard/api-app';
import { createWorker } from '@trainyard/worker-app';
import { ConfigError, loadConfig } from '@trainyard/config';
import type { Database } from '@trainyard/db';
import { RedisUnavailableError } from '@trainyard/queue';

/**
 * The zero-configuration process behind `npm run demo`: the API and one worker in one process,
 * sharing one open database, because the embedded PGlite allows a single opener per process.
 * In production the two run as separate processes (apps/api, apps/worker). This is the one place
 * allowed to compose both apps (see eslint.config.mjs).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const api = await createApiApp(config, { shutdownHooks: false });
  const database = api.get<Database>(DATABASE);
  const worker = await createWorker(config, { database });
  await api.listen(config.api.port, config.api.host);
  const logger = new Logger('EmbeddedServer');
  logger.log(`API on http://${config.api.host}:${config.api.port} with one embedded worker`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: stopping the worker, then the API`);
    await worker.close();
    await api.close();
    await database.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof RedisUnavailableError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
