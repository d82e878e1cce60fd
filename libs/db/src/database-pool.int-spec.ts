import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { openDatabase, type Database } from './open-database';
import { createFreshDatabase, type FreshDatabase } from './testing';

/** What PostgreSQL shows of one application's connections to the test's database, as it sees them now. */
async function connectionsOf(admin: Client, database: string, applicationName: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
    [database, applicationName],
  );
  return rows[0]!.n;
}

/**
 * A process's PostgreSQL pool (DATABASE_POOL_MAX) and the name its connections carry: a fleet sized
 * under the server's max_connections needs both, the pool's bound to sum the processes and the
 * name to see whose connections fill it (pg_stat_activity.application_name, empty before).
 */
describe('openDatabase: the pool and its connections’ name (PostgreSQL)', () => {
  let fresh: FreshDatabase;
  let admin: Client;
  let db: Database | undefined;
  let database: string;

  beforeAll(async () => {
    fresh = await createFreshDatabase();
    database = new URL(fresh.url).pathname.slice(1);
    admin = new Client({ connectionString: fresh.url });
    await admin.connect();
  });
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });
  afterAll(async () => {
    await admin?.end();
    await fresh?.drop();
  });

  it('names the migrator’s connection and the pool’s, and holds at most poolMax however many queries wait', async () => {
    const name = `trainyard-test-${randomUUID().slice(0, 8)}`;
    // Counted while the migrator applies the migrations of the fresh database, its connection open.
    const migrating: Promise<number>[] = [];
    db = await openDatabase(
      { url: fresh.url, embeddedPath: '', poolMax: 2 },
      { applicationName: name, log: () => migrating.push(connectionsOf(admin, database, `${name} (migrate)`)) },
    );
    expect(migrating.length).toBeGreaterThan(1);
    expect(Math.max(...(await Promise.all(migrating)))).toBe(1);

    const prisma = db.prisma;
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, await connectionsOf(admin, database, name));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    // Six statements at once, each holding its connection 300 ms: two at a time, three turns.
    const started = Date.now();
    try {
      await Promise.all(Array.from({ length: 6 }, () => prisma.$queryRaw`SELECT 1 AS slept FROM pg_sleep(0.3)`));
    } finally {
      sampling = false;
      await sampler;
    }
    const took = Date.now() - started;
    expect(most).toBe(2);
    expect(took).toBeGreaterThanOrEqual(850);
  });

  it('leaves the name unset when none is given', async () => {
    db = await openDatabase({ url: fresh.url, embeddedPath: '' });
    await db.prisma.$queryRaw`SELECT 1`;
    const { rows } = await admin.query<{ names: string[] }>(
      `SELECT array_agg(application_name) AS names FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [database],
    );
    expect(rows[0]!.names).toEqual(['']);
  });
});
