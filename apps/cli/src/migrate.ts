import { ConfigError, loadConfig } from '@trainyard/config';
import { EmbeddedDatabaseInUseError, MigrationError, openDatabase } from '@trainyard/db';
import { EMBEDDED_DATABASE_IN_USE_EXIT_CODE } from './embedded-process';

/**
 * `npm run migrate` (in the images `node dist/apps/cli/src/migrate.js`): applies every pending
 * migration under the migrator's advisory lock and exits. Fleets run it once per release, before
 * rolling the API and the workers with MIGRATE_ON_START=false (compose's `migrate` service, the
 * Kubernetes `trainyard-migrate` Job); running it twice, or beside a process that migrates at
 * start, is safe: the second finds nothing pending.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const target = config.database.url ? 'PostgreSQL' : `the embedded database in ${config.database.embeddedPath}`;
  const lines: string[] = [];
  const database = await openDatabase(config.database, {
    migrate: true,
    applicationName: 'trainyard-migrate',
    log: (line) => {
      lines.push(line);
      process.stdout.write(`${line}\n`);
    },
  });
  await database.close();
  const applied = lines.filter((line) => line.startsWith('Applied migration')).length;
  process.stdout.write(
    applied ? `${applied} migration(s) applied to ${target}\n` : `${target} is up to date; nothing to apply\n`,
  );
}

main().catch((err: unknown) => {
  if (err instanceof EmbeddedDatabaseInUseError) {
    // Nothing was opened: the server holding the embedded database migrates it when it starts.
    process.stderr.write(`${err.message}\n`);
    process.exit(EMBEDDED_DATABASE_IN_USE_EXIT_CODE);
  }
  // Config, migration and connection errors already say what is wrong and what to do.
  const plain =
    err instanceof ConfigError ||
    err instanceof MigrationError ||
    /^Cannot connect/.test((err as Error)?.message ?? '');
  process.stderr.write(`${plain ? (err as Error).message : ((err as Error)?.stack ?? String(err))}\n`);
  process.exit(1);
});
