import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { findMigrationsDir, migrate, readMigrations } from './migrator';
import { pgConnection } from './sql-connection';
import { createFreshDatabase, type FreshDatabase } from './testing';
import { getDmmf } from './testing/prisma-dmmf';
import { expectedSchema, type SchemaShape } from './testing/schema-expectation';
import { introspectSchema, unexpectedConstraints } from './testing/schema-introspection';

/**
 * The migrations are hand-written (Prisma's schema engine cannot be downloaded here), so this
 * proves they build exactly the database schema.prisma describes, as Prisma itself reads it.
 */
describe('prisma/migrations agree with prisma/schema.prisma', () => {
  const migrationsDir = findMigrationsDir();
  const expected = expectedSchema(getDmmf(readFileSync(join(migrationsDir, '..', 'schema.prisma'), 'utf8')));
  let fresh: FreshDatabase;
  let client: Client;
  let actual: SchemaShape;

  beforeAll(async () => {
    fresh = await createFreshDatabase();
    client = new Client({ connectionString: fresh.url });
    await client.connect();
    await migrate(pgConnection(client), readMigrations(migrationsDir));
    actual = await introspectSchema(client);
  });
  afterAll(async () => {
    await client?.end();
    await fresh?.drop();
  });

  it('reads a non-trivial model from the schema', () => {
    expect(Object.keys(expected.tables)).toEqual(expect.arrayContaining(['runs', 'attempts', 'metric_points']));
  });

  it('has the same enums with the same values in order', () => {
    expect(actual.enums).toEqual(expected.enums);
  });

  it('has the same tables', () => {
    expect(Object.keys(actual.tables).sort()).toEqual(Object.keys(expected.tables).sort());
  });

  it.each(Object.keys(expected.tables).sort())(
    'table %s has the same columns, types, nullability and defaults',
    (table) => {
      expect(actual.tables[table]).toEqual(expected.tables[table]);
    },
  );

  it("has the same primary keys, unique and plain indexes, by Prisma's names", () => {
    expect(actual.indexes).toEqual(expected.indexes);
  });

  it('has the same foreign keys with the same referential actions', () => {
    expect(actual.foreignKeys).toEqual(expected.foreignKeys);
  });

  it('has no constraints Prisma would not create', async () => {
    expect(await unexpectedConstraints(client)).toEqual([]);
  });
});
