import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { SqlConnection } from './sql-connection';

/**
 * Applies prisma/migrations the way `prisma migrate deploy` would, and records them in a
 * `_prisma_migrations` table laid out exactly like Prisma's, so either tool can take over later.
 * We need our own because Prisma's schema-engine binary cannot be downloaded on these machines.
 */

/** Fixed advisory-lock key: every Trainyard process that migrates serialises on it. */
export const MIGRATION_LOCK_KEY = 72_707_370_001;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly migrationName: string,
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

/**
 * The database lacks migrations this code needs, and this process was told not to apply them
 * (MIGRATE_ON_START=false): it stops with the command that fixes it rather than fail later on a
 * missing column.
 */
export class SchemaBehindError extends MigrationError {
  constructor(readonly pending: string[]) {
    super(
      `The database schema is older than this version of Trainyard needs: ${pending.length} migration(s) not applied ` +
        `(${pending.length > 3 ? `${pending.slice(0, 3).join(', ')}, …` : pending.join(', ')}). ` +
        'Run `npm run migrate` (in the images: `node dist/apps/cli/src/migrate.js`; in Kubernetes: the trainyard-migrate Job) ' +
        'with the same DATABASE_URL, then start this process again; or set MIGRATE_ON_START=true to migrate at start.',
      pending[0] ?? '',
    );
    this.name = 'SchemaBehindError';
  }
}

export interface SchemaStatus {
  /** Migrations of this code the database has not finished, in folder order. */
  pending: string[];
  /** Applied to the database but unknown to this code: a newer release migrated it (expand-only, so fine). */
  unknown: string[];
}

const MIGRATIONS_TABLE_SQL = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);`;

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

/** Migration folders in name order (their timestamp prefix makes that the creation order). */
export function readMigrations(migrationsDir: string): MigrationFile[] {
  if (!existsSync(migrationsDir)) {
    throw new Error(`Migrations folder not found: ${migrationsDir}`);
  }
  return readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(migrationsDir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(migrationsDir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: checksumOf(sql) };
    });
}

/**
 * Finds Trainyard's prisma/migrations beside this code: walking up from this file's folder
 * (libs/db/src in the repository and under Jest, dist/libs/db/src once built, /app/dist/libs/db/src
 * in the images, whose /app/prisma the Dockerfiles copy) to the package root, the first folder
 * with a package.json. Never from the working directory: started from inside another Prisma
 * project, that would apply its migrations to Trainyard's database. Never above the package root
 * either, for the same reason. `openDatabase`'s `migrationsDir` names another folder explicitly.
 */
export function findMigrationsDir(from: string = __dirname): string {
  let dir = resolve(from);
  for (;;) {
    const candidate = join(dir, 'prisma', 'migrations');
    if (existsSync(join(candidate, 'migration_lock.toml'))) return candidate;
    const parent = dirname(dir);
    if (existsSync(join(dir, 'package.json')) || parent === dir) break;
    dir = parent;
  }
  throw new Error(
    `prisma/migrations (with its migration_lock.toml) not found in ${resolve(from)} or a folder above it up to ${dir}`,
  );
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Applies every pending migration under a session advisory lock, so processes starting together
 * take turns: the first applies, the others then find nothing pending. Each migration runs in
 * its own transaction (PostgreSQL DDL is transactional), so a failure leaves nothing half-done.
 */
export async function migrate(
  conn: SqlConnection,
  migrations: MigrationFile[],
  log: (line: string) => void = () => undefined,
): Promise<MigrateResult> {
  await conn.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await conn.exec(MIGRATIONS_TABLE_SQL);
    const rows = await conn.query<AppliedRow>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
    );
    const done = new Map<string, AppliedRow>();
    for (const row of rows) {
      if (row.rolled_back_at !== null) continue;
      if (row.finished_at === null) {
        throw new MigrationError(
          `Migration ${row.migration_name} is recorded as started but never finished; ` +
            `inspect the database, then delete or resolve its row in _prisma_migrations`,
          row.migration_name,
        );
      }
      done.set(row.migration_name, row);
    }
    const known = new Set(migrations.map((m) => m.name));
    for (const name of done.keys()) {
      if (!known.has(name)) log(`Migration ${name} is applied to the database but missing from the migrations folder`);
    }

    const result: MigrateResult = { applied: [], alreadyApplied: [] };
    for (const migration of migrations) {
      const previous = done.get(migration.name);
      if (previous) {
        if (previous.checksum !== migration.checksum) {
          throw new MigrationError(
            `Migration ${migration.name} was modified after it was applied ` +
              `(recorded checksum ${previous.checksum}, file now ${migration.checksum}); ` +
              `restore the file and add a new migration instead`,
            migration.name,
          );
        }
        result.alreadyApplied.push(migration.name);
        continue;
      }
      await applyOne(conn, migration);
      log(`Applied migration ${migration.name}`);
      result.applied.push(migration.name);
    }
    return result;
  } finally {
    await conn.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
}

/**
 * Compares the database with `migrations` without changing anything and without the lock: a
 * reader may see a migration being applied as pending, which only makes it refuse to start.
 */
export async function schemaStatus(conn: SqlConnection, migrations: MigrationFile[]): Promise<SchemaStatus> {
  const [table] = await conn.query<{ t: string | null }>(`SELECT to_regclass('"_prisma_migrations"')::text AS t`);
  const rows = table?.t
    ? await conn.query<AppliedRow>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"',
      )
    : [];
  const done = new Set(
    rows.filter((r) => r.rolled_back_at === null && r.finished_at !== null).map((r) => r.migration_name),
  );
  const known = new Set(migrations.map((m) => m.name));
  return {
    pending: migrations.filter((m) => !done.has(m.name)).map((m) => m.name),
    unknown: [...done].filter((name) => !known.has(name)).sort(),
  };
}

/** Throws SchemaBehindError unless every migration of this code is applied. */
export async function assertSchemaCurrent(
  conn: SqlConnection,
  migrations: MigrationFile[],
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const status = await schemaStatus(conn, migrations);
  if (status.pending.length > 0) throw new SchemaBehindError(status.pending);
  if (status.unknown.length > 0) {
    log(
      `The database has ${status.unknown.length} migration(s) newer than this code (${status.unknown.join(', ')}); carrying on, as migrations only add`,
    );
  }
}

async function applyOne(conn: SqlConnection, migration: MigrationFile): Promise<void> {
  await conn.exec('BEGIN');
  try {
    await conn.exec(migration.sql);
    await conn.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
      [randomUUID(), migration.checksum, migration.name],
    );
    await conn.exec('COMMIT');
  } catch (error) {
    await conn.exec('ROLLBACK');
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(`Migration ${migration.name} failed and was rolled back: ${reason}`, migration.name);
  }
}
