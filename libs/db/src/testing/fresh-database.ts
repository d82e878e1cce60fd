import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export interface FreshDatabase {
  /** postgresql://… URL of the new, empty database (no migrations applied). */
  url: string;
  /** Drops the database, disconnecting anything still attached. Safe to call twice. */
  drop(): Promise<void>;
}

/** Server to create test databases on; CI and the project's machines run one on 5432. */
export const TEST_POSTGRES_ADMIN_URL =
  process.env['TRAINYARD_TEST_POSTGRES_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/**
 * A new empty database `trainyard_test_<random>` per suite, so suites running in parallel never
 * see each other's rows. Call `openDatabase({ url, embeddedPath: '' })` on it to migrate, and
 * `drop()` in afterAll.
 */
export async function createFreshDatabase(): Promise<FreshDatabase> {
  const name = `trainyard_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE "${name}"`));
  const url = new URL(TEST_POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      // FORCE (PostgreSQL 13+) ends leftover connections, e.g. a pool a failed test never closed.
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** One connection as the test server's admin, for `fn`, closed after. */
export async function withAdmin<T>(fn: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: TEST_POSTGRES_ADMIN_URL });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `Integration tests need PostgreSQL at ${TEST_POSTGRES_ADMIN_URL} (set TRAINYARD_TEST_POSTGRES_URL to use another): ` +
        (error as Error).message,
      { cause: error },
    );
  }
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}
