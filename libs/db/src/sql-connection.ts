import type { PGlite } from '@electric-sql/pglite';
import type { Client } from 'pg';

/**
 * The few raw calls the migrator needs, over either driver. Migrations run on a raw connection
 * rather than through Prisma because a migration file holds many statements, and Prisma's raw
 * API sends one prepared statement at a time.
 */
export interface SqlConnection {
  /** One statement with `$1…` parameters. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A script of several statements, without parameters (simple-query protocol). */
  exec(sql: string): Promise<void>;
}

export function pgConnection(client: Client): SqlConnection {
  return {
    async query<T>(sql: string, params: unknown[] = []) {
      const result = await client.query(sql, params);
      return result.rows as T[];
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  };
}

export function pgliteConnection(db: PGlite): SqlConnection {
  return {
    async query<T>(sql: string, params: unknown[] = []) {
      const result = await db.query<T>(sql, params);
      return result.rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
  };
}
