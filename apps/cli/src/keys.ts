import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '@trainyard/config';
import { API_KEY_SCOPES, CATALOG_LIST_MAX_LIMIT, type ApiKeyScope, type ApiKeyView } from '@trainyard/contracts';
import { ApiKeysRepository, EmbeddedDatabaseInUseError, MigrationError, openDatabase } from '@trainyard/db';
import { EMBEDDED_DATABASE_IN_USE_EXIT_CODE } from './embedded-process';

const USAGE = `Usage: npm run keys -- <command>
  create --name NAME --scopes read,submit[,admin] [--project PROJECT]   make a key; its token is printed once
  list                                                                 every key (never a token)
  revoke ID                                                            refuse the key from now on
Talks to the database of DATABASE_URL (or the embedded one under TRAINYARD_HOME), so the first
admin key can be made before any API is running. TRAINYARD_ADMIN_KEY at start is the other way.`;

const PROJECT = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** `npm run keys`: API keys straight in the database, for operators and first setup. */
async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      scopes: { type: 'string' },
      project: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, id] = positionals;
  if (values.help || !command) return usage(values.help ? 0 : 2);
  const config = loadConfig();
  const database = await openDatabase(config.database, {
    migrate: config.migrations.onStart,
    applicationName: 'trainyard-keys',
  });
  const keys = new ApiKeysRepository(database.prisma);
  try {
    if (command === 'create') {
      const scopes = (values.scopes ?? '').split(',').filter(Boolean);
      const bad = scopes.filter((s) => !(API_KEY_SCOPES as readonly string[]).includes(s));
      if (!values.name || !/^[\x20-\x7e]{1,100}$/.test(values.name))
        return fail('--name: 1 to 100 printable ASCII characters');
      if (!scopes.length || bad.length)
        return fail(
          `--scopes: a comma list of ${API_KEY_SCOPES.join(', ')}${bad.length ? ` (not: ${bad.join(', ')})` : ''}`,
        );
      if (values.project !== undefined && !PROJECT.test(values.project))
        return fail('--project: 1 to 63 lowercase letters, digits, "-" or "_"');
      const { key, token } = await keys.create({
        name: values.name,
        scopes: [...new Set(scopes)] as ApiKeyScope[],
        project: values.project ?? null,
      });
      process.stderr.write(
        `Key ${key.id} "${key.name}" (${key.scopes.join(', ')}; project ${key.project ?? 'all'}). The token below is shown once:\n`,
      );
      process.stdout.write(`${token}\n`);
      return 0;
    }
    if (command === 'list') {
      for await (const key of everyKey(keys)) {
        process.stdout.write(
          `${key.id}  ${key.revokedAt ? 'revoked' : 'active '}  ${key.scopes.join(',').padEnd(18)}  ${(key.project ?? '(all)').padEnd(16)}  ${key.name}\n`,
        );
      }
      return 0;
    }
    if (command === 'revoke' && id) {
      const key = await keys.revoke(id).catch(() => null);
      if (!key) return fail(`No API key with id ${id}`);
      process.stdout.write(`Key ${key.id} revoked (API replicas refuse it within 5 s)\n`);
      return 0;
    }
    return usage(2);
  } finally {
    await database.close();
  }
}

function usage(code: number): number {
  (code === 0 ? process.stdout : process.stderr).write(`${USAGE}\n`);
  return code;
}

function fail(message: string): number {
  process.stderr.write(`${message}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof EmbeddedDatabaseInUseError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(EMBEDDED_DATABASE_IN_USE_EXIT_CODE);
    }
    const plain =
      err instanceof ConfigError ||
      err instanceof MigrationError ||
      (err as { code?: string })?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
    process.stderr.write(`${plain ? (err as Error).message : ((err as Error)?.stack ?? String(err))}\n`);
    process.exit(plain ? 2 : 1);
  },
);

/** Every key, newest first, a page at a time. */
async function* everyKey(keys: ApiKeysRepository): AsyncGenerator<ApiKeyView> {
  let cursor: string | undefined;
  do {
    const page = await keys.page({ limit: CATALOG_LIST_MAX_LIMIT, cursor });
    yield* page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}
