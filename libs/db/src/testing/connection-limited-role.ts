import { randomBytes } from 'node:crypto';
import { TEST_POSTGRES_ADMIN_URL, withAdmin } from './fresh-database';

/**
 * A login role of one test's own whose connections PostgreSQL can be told to refuse, as a server at
 * `max_connections` or a role at its `CONNECTION LIMIT` does ("too many connections", 53300),
 * without touching any server-wide setting. It is a member of the admin role, so it reads and
 * writes the test's database as the admin would; it is not a superuser itself (membership does not
 * pass that on), so its limit holds.
 */
export interface ConnectionLimitedRole {
  name: string;
  /** `url` with this role as its user. */
  urlFor(url: string): string;
  /** No new connection is accepted, and the open ones are ended (pg_terminate_backend): every pool of the role must connect anew, and is refused. */
  refuse(): Promise<void>;
  /** New connections are accepted again. */
  accept(): Promise<void>;
  /** Ends the role's connections and drops it; call after its databases are dropped. Safe to call twice. */
  drop(): Promise<void>;
}

export async function createConnectionLimitedRole(): Promise<ConnectionLimitedRole> {
  const name = `trainyard_test_role_${randomBytes(6).toString('hex')}`;
  const admin = new URL(TEST_POSTGRES_ADMIN_URL).username || 'postgres';
  await withAdmin((c) => c.query(`CREATE ROLE "${name}" LOGIN IN ROLE "${admin}"`));
  const terminate = () =>
    withAdmin((c) => c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [name]));
  let dropped = false;
  return {
    name,
    urlFor(url) {
      const withRole = new URL(url);
      withRole.username = name;
      withRole.password = '';
      return withRole.toString();
    },
    async refuse() {
      await withAdmin((c) => c.query(`ALTER ROLE "${name}" CONNECTION LIMIT 0`));
      await terminate();
    },
    async accept() {
      await withAdmin((c) => c.query(`ALTER ROLE "${name}" CONNECTION LIMIT -1`));
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      await terminate();
      await withAdmin((c) => c.query(`DROP ROLE IF EXISTS "${name}"`));
    },
  };
}
