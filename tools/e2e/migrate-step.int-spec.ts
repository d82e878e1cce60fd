import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { createFreshDatabase, testAdminKey, type FreshDatabase } from '@trainyard/db/testing';
import { findMigrationsDir, readMigrations } from '@trainyard/db';
import { startS3TestServer } from '@trainyard/storage/testing';
import { freePort, startApp, startScript, waitFor, type AppProcess } from './processes';

/** The command `npm run migrate` runs, the compose `migrate` service and the Kubernetes Job too. */
const MIGRATE = 'dist/apps/cli/src/migrate.js';

/**
 * Migrations as a step, with the compiled processes an operator runs: the API and a worker started
 * with MIGRATE_ON_START=false refuse an unmigrated database and say what to run; `npm run migrate`
 * applies every migration once even when started twice at once (the advisory lock); then both
 * start on the schema it left.
 */
describe('migrations as a step (compiled processes, PostgreSQL, Redis, S3)', () => {
  let database: FreshDatabase;
  let s3: Awaited<ReturnType<typeof startS3TestServer>>;
  let env: Record<string, string>;
  let baseUrl: string;
  const started: AppProcess[] = [];
  const migrations = readMigrations(findMigrationsDir()).map((m) => m.name);

  const start = (app: 'api' | 'worker' | 'migrate') => {
    const proc = app === 'migrate' ? startScript(MIGRATE, env) : startApp(app, env);
    started.push(proc);
    return proc;
  };
  const exitOf = (app: AppProcess) =>
    new Promise<number | null>((resolve) =>
      app.child.exitCode !== null ? resolve(app.child.exitCode) : app.child.once('exit', resolve),
    );
  const applied = async () => {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const tables = await client.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`);
      if (!tables.rows.some((r) => r.tablename === '_prisma_migrations'))
        return { tables: tables.rows.length, names: [] };
      const rows = await client.query(
        `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name`,
      );
      return { tables: tables.rows.length, names: rows.rows.map((r) => r.migration_name as string) };
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    database = await createFreshDatabase();
    s3 = await startS3TestServer();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      ...s3.env(),
      TRAINYARD_QUEUE: `e2e-${randomUUID()}`,
      TRAINYARD_ADMIN_KEY: testAdminKey(),
      TRAINYARD_BACKEND: 'wasm',
      WORKER_PRESTART: 'false',
      API_PORT: String(port),
      MIGRATE_ON_START: 'false',
    };
  }, 60_000);
  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop()));
    await s3?.stop();
    await database?.drop();
  });

  it('is the command `npm run migrate` runs', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts['migrate']).toBe(`node ${MIGRATE}`);
  });

  it.each(['api', 'worker'] as const)(
    '%s with MIGRATE_ON_START=false refuses an unmigrated database, naming the command, and changes nothing',
    async (app) => {
      const proc = start(app);
      expect(await exitOf(proc)).toBe(1);
      const output = proc.output();
      expect(output).toMatch(
        new RegExp(
          `schema is older than this version of Trainyard needs: ${migrations.length} migration\\(s\\) not applied`,
        ),
      );
      expect(output).toContain('Run `npm run migrate`');
      expect(output).toContain('or set MIGRATE_ON_START=true');
      // The message is the last thing printed, alone: no stack trace after it.
      expect(output.trimEnd().split('\n').at(-1)).toMatch(/^The database schema is older .*to migrate at start\.$/);
      expect(await applied()).toEqual({ tables: 0, names: [] });
    },
    60_000,
  );

  it('applies every migration once when two migrate steps start together, then the API and a worker start', async () => {
    const [first, second] = [start('migrate'), start('migrate')];
    expect([await exitOf(first), await exitOf(second)]).toEqual([0, 0]);
    const outputs = [first.output(), second.output()];
    // One applied them all under the advisory lock; the other waited for it and found nothing left.
    expect(outputs.filter((o) => o.includes(`${migrations.length} migration(s) applied to PostgreSQL`))).toHaveLength(
      1,
    );
    expect(outputs.filter((o) => o.includes('PostgreSQL is up to date; nothing to apply'))).toHaveLength(1);
    expect((await applied()).names).toEqual(migrations);

    const again = start('migrate');
    expect(await exitOf(again)).toBe(0);
    expect(again.output()).toContain('PostgreSQL is up to date; nothing to apply');

    const api = start('api');
    await waitFor(
      'the API to be ready on the migrated schema',
      async () => ((await fetch(`${baseUrl}/readyz`)).ok ? true : undefined),
      60_000,
      () => api.output(),
    );
    const worker = start('worker');
    await waitFor(
      'the worker to consume on the migrated schema',
      async () => (/consuming "/.test(worker.output()) ? true : undefined),
      60_000,
      () => worker.output(),
    );
    expect(`${api.output()}\n${worker.output()}`).not.toMatch(/Applied migration/);
    await worker.stop('SIGTERM');
  }, 120_000);
});
