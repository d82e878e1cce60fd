import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { findMigrationsDir, readMigrations, SchemaBehindError } from './migrator';
import { openDatabase, type Database } from './open-database';
import { MetricsRepository } from './metrics.repository';
import { RunsRepository } from './runs.repository';
import { createFreshDatabase, type FreshDatabase } from './testing';

// PGlite's CommonJS build calls import() internally, which Jest's module sandbox refuses without
// --experimental-vm-modules. Jest's `module` is a subclass of Node's; the parent's createRequire
// loads PGlite natively, outside the sandbox, where import() works (production needs none of this).
jest.mock('@electric-sql/pglite', () => {
  const nodeModule = Object.getPrototypeOf(jest.requireActual('node:module')) as typeof import('node:module');
  return nodeModule.createRequire(__filename)('@electric-sql/pglite');
});

const spec = { kind: 'pretrain', name: 'smoke' } as never;

describe('openDatabase', () => {
  describe('PostgreSQL (url set)', () => {
    let fresh: FreshDatabase;
    let db: Database | undefined;
    beforeAll(async () => {
      fresh = await createFreshDatabase();
    });
    afterAll(async () => {
      await db?.close();
      await fresh.drop();
    });

    it('migrates, pings and round-trips a run', async () => {
      const lines: string[] = [];
      db = await openDatabase({ url: fresh.url, embeddedPath: '' }, { log: (l) => lines.push(l) });
      expect(db.kind).toBe('postgres');
      await expect(db.ping()).resolves.toBeUndefined();
      expect(lines).toEqual(readMigrations(findMigrationsDir()).map((m) => `Applied migration ${m.name}`));
      const id = randomUUID();
      await new RunsRepository(db.prisma).create({ id, kind: 'PRETRAIN', name: 'smoke', spec, baseRunId: null });
      expect((await new RunsRepository(db.prisma).get(id))?.status).toBe('QUEUED');
    });

    it('names the server it could not reach, without the password', async () => {
      await expect(openDatabase({ url: 'postgresql://u:secret@127.0.0.1:1/x', embeddedPath: '' })).rejects.toThrow(
        /Cannot connect to PostgreSQL at postgresql:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/,
      );
    });
  });

  describe('PGlite (no url)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trainyard-pglite-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('creates the data directory, migrates, persists across reopen', async () => {
      const embeddedPath = join(dir, 'nested', 'db');
      const runId = randomUUID();
      const first = await openDatabase({ embeddedPath });
      try {
        expect(first.kind).toBe('pglite');
        await first.ping();
        await new RunsRepository(first.prisma).create({
          id: runId,
          kind: 'PRETRAIN',
          name: 'p',
          spec,
          baseRunId: null,
        });
        await new MetricsRepository(first.prisma).write(runId, null, [
          { name: 'loss', step: 1, epoch: 0, value: 0.5, wallTime: new Date() },
          { name: 'loss', step: 2, epoch: 0, value: 0.25, wallTime: new Date() },
        ]);
      } finally {
        await first.close();
      }

      const lines: string[] = [];
      const second = await openDatabase({ embeddedPath }, { log: (l) => lines.push(l) });
      try {
        expect(lines).toEqual([]);
        const [summary] = await new MetricsRepository(second.prisma).summaries(runId);
        expect(summary).toMatchObject({ name: 'loss', goal: 'min', count: 2, best: 0.25, bestStep: 2 });
        const page = await new RunsRepository(second.prisma).list({
          sort: { by: 'metric', metric: 'loss', stat: 'best' },
          order: 'asc',
          limit: 10,
        });
        expect(page.items.map((r) => r.id)).toEqual([runId]);
      } finally {
        await second.close();
      }
    });
  });

  describe('MIGRATE_ON_START=false (migrate: false): migrations are a step, run before', () => {
    let fresh: FreshDatabase;
    const scratch = mkdtempSync(join(tmpdir(), 'trainyard-schema-check-'));
    beforeEach(async () => {
      fresh = await createFreshDatabase();
    });
    afterEach(async () => {
      await fresh.drop();
    });
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    const tables = async (url: string) => {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)).rows.length;
      } finally {
        await client.end();
      }
    };
    /** This code's migrations plus one more, as the next release would ship them. */
    const withExtraMigration = (name: string) => {
      const dir = join(scratch, randomUUID());
      cpSync(findMigrationsDir(), dir, { recursive: true });
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'migration.sql'), 'ALTER TABLE "workers" ADD COLUMN "zone" TEXT;');
      return dir;
    };

    it('refuses an empty database, naming every pending migration and the command to run, and changes nothing', async () => {
      const names = readMigrations(findMigrationsDir()).map((m) => m.name);
      const opening = openDatabase({ url: fresh.url, embeddedPath: '' }, { migrate: false });
      await expect(opening).rejects.toBeInstanceOf(SchemaBehindError);
      await expect(opening).rejects.toThrow(
        /schema is older than this version of Trainyard needs: \d+ migration\(s\) not applied/,
      );
      await expect(opening).rejects.toThrow(/Run `npm run migrate`.*with the same DATABASE_URL/);
      await expect(opening).rejects.toMatchObject({ pending: names });
      expect(await tables(fresh.url)).toBe(0);
    });

    it('starts once the migrate step has run (what `npm run migrate` does), and not before a newer release is migrated', async () => {
      const migrated = await openDatabase({ url: fresh.url, embeddedPath: '' }, { migrate: true });
      await migrated.close();

      const db = await openDatabase({ url: fresh.url, embeddedPath: '' }, { migrate: false });
      await expect(db.ping()).resolves.toBeUndefined();
      await db.close();

      const next = withExtraMigration('29990101000000_add_worker_zone');
      await expect(
        openDatabase({ url: fresh.url, embeddedPath: '' }, { migrate: false, migrationsDir: next }),
      ).rejects.toThrow(/1 migration\(s\) not applied \(29990101000000_add_worker_zone\)/);
    });

    it('runs on a database a newer release migrated (migrations only add), saying so', async () => {
      const next = withExtraMigration('29990101000000_add_worker_zone');
      await (await openDatabase({ url: fresh.url, embeddedPath: '' }, { migrationsDir: next })).close();
      const lines: string[] = [];
      const db = await openDatabase(
        { url: fresh.url, embeddedPath: '' },
        { migrate: false, log: (l) => lines.push(l) },
      );
      await db.close();
      expect(lines).toEqual([
        expect.stringMatching(/1 migration\(s\) newer than this code \(29990101000000_add_worker_zone\)/),
      ]);
    });

    it('refuses an embedded database that was never migrated, too', async () => {
      const embeddedPath = join(scratch, 'pglite');
      await expect(openDatabase({ embeddedPath }, { migrate: false })).rejects.toBeInstanceOf(SchemaBehindError);
      const db = await openDatabase({ embeddedPath });
      await db.close();
      const again = await openDatabase({ embeddedPath }, { migrate: false });
      await again.close();
    });
  });
});
