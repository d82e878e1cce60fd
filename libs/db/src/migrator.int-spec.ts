import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { checksumOf, findMigrationsDir, migrate, readMigrations, type MigrationFile } from './migrator';
import { pgConnection } from './sql-connection';
import { createFreshDatabase, type FreshDatabase } from './testing';

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const migrateUrl = (url: string, migrations: MigrationFile[]) =>
  withClient(url, (client) => migrate(pgConnection(client), migrations));

describe('migrate (PostgreSQL)', () => {
  const migrations = readMigrations(findMigrationsDir());
  let fresh: FreshDatabase;
  const scratch = mkdtempSync(join(tmpdir(), 'trainyard-migrations-'));

  beforeEach(async () => {
    fresh = await createFreshDatabase();
  });
  afterEach(async () => {
    await fresh.drop();
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('applies once when three processes start together, recording it as Prisma does', async () => {
    const results = await Promise.all([1, 2, 3].map(() => migrateUrl(fresh.url, migrations)));

    const names = migrations.map((m) => m.name);
    expect(results.filter((r) => r.applied.length > 0).map((r) => r.applied)).toEqual([names]);
    expect(results.filter((r) => r.applied.length === 0).map((r) => r.alreadyApplied)).toEqual([names, names]);

    const rows = await withClient(fresh.url, async (c) => (await c.query('SELECT * FROM "_prisma_migrations"')).rows);
    expect(rows).toHaveLength(migrations.length);
    expect(rows[0]).toMatchObject({
      migration_name: migrations[0]?.name,
      checksum: checksumOf(migrations[0]?.sql ?? ''),
      logs: null,
      rolled_back_at: null,
      applied_steps_count: 1,
    });
    expect(rows[0].id).toMatch(/^[0-9a-f-]{36}$/);
    expect(rows[0].finished_at).toBeInstanceOf(Date);
    expect(rows[0].started_at).toBeInstanceOf(Date);

    // The lock is released: nothing left holding our advisory lock.
    const locks = await withClient(
      fresh.url,
      async (c) =>
        // Only this database's: suites running in parallel take advisory locks in theirs.
        (
          await c.query(
            `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          )
        ).rows,
    );
    expect(locks[0].n).toBe(0);
  });

  it('refuses, naming the migration, when an applied file was edited', async () => {
    await migrateUrl(fresh.url, migrations);
    const edited = migrations.map((m, i) =>
      i === 0 ? { ...m, sql: `${m.sql}\n-- edited`, checksum: checksumOf(`${m.sql}\n-- edited`) } : m,
    );
    await expect(migrateUrl(fresh.url, edited)).rejects.toThrow(
      new RegExp(`Migration ${migrations[0]?.name} was modified after it was applied`),
    );
  });

  it('applies new migrations in folder order and rolls back a failing one entirely', async () => {
    const dir = join(scratch, 'ordered');
    cpSync(findMigrationsDir(), dir, { recursive: true });
    const add = (name: string, sql: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'migration.sql'), sql);
    };
    add('29990102000000_second', 'ALTER TABLE "workers" ADD COLUMN "zone" TEXT;');
    add('29990101000000_first', 'CREATE TABLE "first_table" ("id" INTEGER);');
    add('29990103000000_broken', 'CREATE TABLE "half_done" ("id" INTEGER);\nSELECT no_such_function();');

    await expect(migrateUrl(fresh.url, readMigrations(dir))).rejects.toThrow(
      /Migration 29990103000000_broken failed and was rolled back: .*no_such_function/,
    );
    const state = await withClient(fresh.url, async (c) => ({
      names: (
        await c.query('SELECT migration_name FROM "_prisma_migrations" ORDER BY started_at, migration_name')
      ).rows.map((r) => r.migration_name),
      halfDone: (await c.query(`SELECT to_regclass('half_done') AS t`)).rows[0].t,
    }));
    expect(state.names).toEqual([...migrations.map((m) => m.name), '29990101000000_first', '29990102000000_second']);
    expect(state.halfDone).toBeNull();
  });

  it('refuses to continue past a migration recorded as started but unfinished', async () => {
    await migrateUrl(fresh.url, migrations);
    await withClient(fresh.url, (c) =>
      c.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, applied_steps_count)
         VALUES ('00000000-0000-0000-0000-000000000001', 'x', '29990101000000_crashed', 0)`,
      ),
    );
    await expect(migrateUrl(fresh.url, migrations)).rejects.toThrow(
      /29990101000000_crashed is recorded as started but never finished/,
    );
  });
});
