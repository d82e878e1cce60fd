import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@trainyard/config';
import { RedisEvictionPolicyError, RedisUnavailableError } from '@trainyard/queue';
import { createApiApp } from './create-api-app';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApiApp(config);
  await app.listen(config.api.port, config.api.host);
  const logger = new Logger('Bootstrap');
  logger.log(`Trainyard API listening on http://${config.api.host}:${config.api.port} (OpenAPI at /docs)`);
}

main().catch((err: unknown) => {
  // Configuration and a missing Redis are the usual first-run problems: print the message alone,
  // which already lists every bad setting or says how to start Redis; anything else with its stack.
  if (err instanceof ConfigError || err instanceof RedisUnavailableError || err instanceof RedisEvictionPolicyError)
    console.error(err.message);
  else console.error(err);
  process.exit(1);
});
