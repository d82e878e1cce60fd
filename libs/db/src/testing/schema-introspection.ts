import type { Client } from 'pg';
import type { ColumnShape, ForeignKeyShape, IndexShape, SchemaShape } from './schema-expectation';

const ACTION_CODES: Record<string, string> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

/** Reads the public schema from pg_catalog in the same shape `expectedSchema` produces. */
export async function introspectSchema(
  client: Client,
  ignoreTables: string[] = ['_prisma_migrations'],
): Promise<SchemaShape> {
  const shape: SchemaShape = { enums: {}, tables: {}, indexes: {}, foreignKeys: {} };

  const enums = await client.query<{ name: string; values: string[] }>(`
    SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
    FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' GROUP BY t.typname`);
  for (const row of enums.rows) shape.enums[row.name] = row.values;

  const columns = await client.query<{
    table: string;
    column: string;
    type: string;
    notnull: boolean;
    default: string | null;
  }>(
    `
    SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS default
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> ALL($1)
    ORDER BY c.relname, a.attnum`,
    [ignoreTables],
  );
  for (const row of columns.rows) {
    const table = (shape.tables[row.table] ??= {} as Record<string, ColumnShape>);
    table[row.column] = { type: row.type, nullable: !row.notnull, default: row.default };
  }

  const indexes = await client.query<{
    name: string;
    table: string;
    columns: string[];
    unique: boolean;
    primary: boolean;
  }>(
    `
    SELECT i.relname AS name, t.relname AS table, ix.indisunique AS unique, ix.indisprimary AS primary,
           array_agg(a.attname::text ORDER BY k.ord) AS columns
    FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
    WHERE n.nspname = 'public' AND t.relname <> ALL($1)
    GROUP BY i.relname, t.relname, ix.indisunique, ix.indisprimary`,
    [ignoreTables],
  );
  for (const row of indexes.rows) {
    shape.indexes[row.name] = {
      table: row.table,
      columns: row.columns,
      unique: row.unique,
      primary: row.primary,
    } satisfies IndexShape;
  }

  const fks = await client.query<{
    name: string;
    table: string;
    columns: string[];
    references: string;
    referenced: string[];
    del: string;
    upd: string;
  }>(`
    SELECT con.conname AS name, t.relname AS table, r.relname AS references,
           con.confdeltype AS del, con.confupdtype AS upd,
           (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS columns,
           (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS referenced
    FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE con.contype = 'f' AND n.nspname = 'public'`);
  for (const row of fks.rows) {
    shape.foreignKeys[row.name] = {
      table: row.table,
      columns: row.columns,
      references: row.references,
      referencedColumns: row.referenced,
      onDelete: ACTION_CODES[row.del] ?? row.del,
      onUpdate: ACTION_CODES[row.upd] ?? row.upd,
    } satisfies ForeignKeyShape;
  }
  return shape;
}

/** Constraint kinds Prisma never creates on PostgreSQL (it uses unique indexes, not UNIQUE constraints). */
export async function unexpectedConstraints(client: Client): Promise<string[]> {
  const result = await client.query<{ name: string }>(`
    SELECT con.conname AS name FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
    WHERE n.nspname = 'public' AND con.contype IN ('u', 'c', 'x', 't')`);
  return result.rows.map((r) => r.name).sort();
}
