import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { Client, Pool } from 'pg';
import { redact, type TrainyardConfig } from '@trainyard/config';
import { PrismaClient } from './generated/prisma/client';
import { acquireEmbeddedLock } from './embedded-lock';
import { DatabaseUnreachableError } from './errors';
import { assertSchemaCurrent, findMigrationsDir, migrate, readMigrations, type MigrateResult } from './migrator';
import { pgConnection, pgliteConnection } from './sql-connection';

/** How long a session may sit inside a transaction doing nothing before PostgreSQL ends it. */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 5000;
/** DATABASE_QUERY_TIMEOUT_MS unset: the most one statement may take. */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
/** DATABASE_CONNECT_TIMEOUT_MS unset: the most a query may wait for a connection (a new one, or a turn in the pool). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** DATABASE_POOL_MAX unset: the connections one process's pool holds at most (pg's own default). */
export const DEFAULT_POOL_MAX = 10;
/**
 * How much later than the server's statement_timeout the client gives up on its own: a server that
 * answers cancels the statement itself (a clean error, the connection kept); the client's timer
 * only fires on a server that does not answer at all.
 */
const CLIENT_TIMEOUT_GRACE_MS = 2000;

export interface Database {
  prisma: PrismaClient;
  kind: 'postgres' | 'pglite';
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /**
   * Apply pending migrations before returning (default true). `false` (MIGRATE_ON_START=false, for
   * fleets that migrate as a step) applies nothing and throws SchemaBehindError, naming the
   * command to run, when a migration of this code is missing from the database.
   */
  migrate?: boolean;
  /** Defaults to the nearest prisma/migrations above the working directory or this file. */
  migrationsDir?: string;
  log?: (line: string) => void;
  /**
   * What PostgreSQL shows for this process's connections (pg_stat_activity.application_name), so
   * an operator counting them sees whose they are: `trainyard-api`, `trainyard-worker`…
   */
  applicationName?: string;
}

/**
 * PostgreSQL when `url` is set, otherwise the embedded PGlite at `embeddedPath` (one process at a
 * time: `<embeddedPath>.lock` says which; another opener gets EmbeddedDatabaseInUseError, see
 * embedded-lock.ts). Migrations run on a raw connection first, so the client handed out always
 * sees the current schema.
 */
export async function openDatabase(config: DatabaseSettings, opts: OpenDatabaseOptions = {}): Promise<Database> {
  return config.url ? openPostgres(config.url, config, opts) : openPglite(config.embeddedPath, opts);
}

async function runMigrations(
  conn: Parameters<typeof migrate>[0],
  opts: OpenDatabaseOptions,
): Promise<MigrateResult | null> {
  const migrations = readMigrations(opts.migrationsDir ?? findMigrationsDir());
  if (opts.migrate === false) {
    await assertSchemaCurrent(conn, migrations, opts.log);
    return null;
  }
  return migrate(conn, migrations, opts.log);
}

/** The database part of the config; tests and tools may leave the timeouts to their defaults. */
export type DatabaseSettings = Pick<TrainyardConfig['database'], 'url' | 'embeddedPath'> &
  Partial<Pick<TrainyardConfig['database'], 'queryTimeoutMs' | 'connectTimeoutMs' | 'poolMax'>>;

/** Prisma's defaults for an interactive transaction: its wait for a connection, and its whole length. */
const PRISMA_TRANSACTION_MAX_WAIT_MS = 2_000;
const PRISMA_TRANSACTION_TIMEOUT_MS = 5_000;

async function openPostgres(url: string, settings: DatabaseSettings, opts: OpenDatabaseOptions): Promise<Database> {
  const queryTimeoutMs = settings.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const connectTimeoutMs = settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const applicationName = opts.applicationName;
  await withRawConnection(url, connectTimeoutMs, applicationName, (client) =>
    runMigrations(pgConnection(client), opts),
  );
  // A connection the server ends (restart, failover, pg_terminate_backend) emits 'error' on its pg
  // client, and pg-pool only listens while the client is idle: an event landing while it is
  // checked out (say between a transaction's COMMIT and its release) would be unheard and kill the
  // process. Every client gets a permanent listener; the query in flight fails on its own and the
  // repositories' connection retry takes over, so the event is only reported here.
  const report = (error: Error) => (opts.log ?? console.warn)(`PostgreSQL connection lost: ${error.message}`);
  const pool = new Pool({
    connectionString: url,
    max: settings.poolMax ?? DEFAULT_POOL_MAX,
    // Unset, every process's connections look alike in pg_stat_activity.
    ...(applicationName ? { application_name: applicationName } : {}),
    // A paused or partitioned process (SIGSTOP, a long GC, a VM freeze) must not hold row locks
    // for ever: a worker's fenced write locks its run row, and the worker taking the run over
    // waits on that lock. The server ends such a session; the paused process, when it wakes,
    // retries and finds itself fenced off.
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    // A server that stops answering (stalled, or partitioned without a reset) must not hang every
    // caller for ever: a statement is cancelled by the server after statement_timeout, and given up
    // by the client a little later when the server does not answer at all (pg then drops that
    // connection from the pool); waiting for a connection, new or pooled, has its own deadline.
    statement_timeout: queryTimeoutMs,
    query_timeout: queryTimeoutMs + CLIENT_TIMEOUT_GRACE_MS,
    connectionTimeoutMillis: connectTimeoutMs,
  });
  pool.on('connect', (client) => client.on('error', report));
  pool.on('error', report);
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool, { disposeExternalPool: true }),
    // Prisma's own defaults (2 s to start a transaction, 5 s for all of it) are shorter than the
    // deadlines the settings name: on a slow or loaded server, a transaction still waiting for a
    // pooled connection after 2 s failed ("Unable to start a transaction in the given time") where a
    // plain query waits DATABASE_CONNECT_TIMEOUT_MS. Never shorter than Prisma's own: settings of a
    // second (the outage tests') bound each statement, not a transaction of several on a loaded
    // machine. A call that needs more passes its own.
    transactionOptions: {
      maxWait: Math.max(connectTimeoutMs, PRISMA_TRANSACTION_MAX_WAIT_MS),
      timeout: Math.max(queryTimeoutMs, PRISMA_TRANSACTION_TIMEOUT_MS),
    },
  });
  return {
    prisma,
    kind: 'postgres',
    ping: () => ping(prisma),
    close: () => prisma.$disconnect(),
  };
}

/** One plain pg connection for the migrator (a migration file is many statements: not through Prisma). */
async function withRawConnection<T>(
  url: string,
  connectTimeoutMs: number,
  applicationName: string | undefined,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  // No statement timeout: a migration may take as long as it takes. Connecting has a deadline.
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: connectTimeoutMs,
    ...(applicationName ? { application_name: `${applicationName} (migrate)` } : {}),
  });
  // The migration's own queries fail if the server drops it; the event must not kill the process too.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw new DatabaseUnreachableError(redact(url), (error as Error).message, { cause: error });
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function openPglite(embeddedPath: string, opts: OpenDatabaseOptions): Promise<Database> {
  // Loaded here, not with this module: a process on PostgreSQL (every API and worker of a fleet)
  // would spend about 50 ms of its start on the embedded database and its Prisma adapter.
  const [{ PGlite }, { pg_trgm }, { PrismaPGlite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite/contrib/pg_trgm'),
    import('pglite-prisma-adapter'),
  ]);
  const dataDir = resolve(embeddedPath);
  mkdirSync(dataDir, { recursive: true });
  // PGlite's Node filesystem takes no lock of its own: a second process opening the directory
  // corrupts it. Taken before PGlite touches anything; throws EmbeddedDatabaseInUseError.
  const lock = acquireEmbeddedLock(dataDir);
  let pglite: PGlite;
  try {
    // pg_trgm: the runs' name search index (migration 20261207150000_runs_name_trigram); PGlite's
    // own build of it, in its package, loaded from there (nothing is downloaded).
    pglite = new PGlite(dataDir, { extensions: { pg_trgm } });
  } catch (error) {
    lock.release();
    throw error;
  }
  try {
    await pglite.waitReady;
    await runMigrations(pgliteConnection(pglite), opts);
  } catch (error) {
    await pglite.close().finally(lock.release);
    throw error;
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    prisma,
    kind: 'pglite',
    ping: () => ping(prisma),
    async close() {
      await prisma.$disconnect();
      // The adapter does not own the PGlite instance: closing it flushes the data directory.
      try {
        if (!pglite.closed) await pglite.close();
      } finally {
        lock.release();
      }
    },
  };
}

async function ping(prisma: PrismaClient): Promise<void> {
  await prisma.$queryRaw`SELECT 1`;
}
