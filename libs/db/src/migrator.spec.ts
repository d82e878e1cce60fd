import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checksumOf, findMigrationsDir, readMigrations } from './migrator';

describe('readMigrations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trainyard-read-migrations-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists migration folders in name order with the sha256 of each file', () => {
    for (const name of ['20260102000000_b', '20260101000000_a']) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'migration.sql'), `-- ${name}\n`);
    }
    mkdirSync(join(dir, 'not_a_migration'));
    writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');

    const found = readMigrations(dir);
    expect(found.map((m) => m.name)).toEqual(['20260101000000_a', '20260102000000_b']);
    expect(found[0]?.checksum).toBe(createHash('sha256').update('-- 20260101000000_a\n').digest('hex'));
  });

  it('names the folder it could not find', () => {
    expect(() => readMigrations(join(dir, 'missing'))).toThrow(/Migrations folder not found: .*missing/);
  });
});

describe('the repository migrations', () => {
  it("are found from the working directory and carry Prisma's lock file", () => {
    const dir = findMigrationsDir();
    expect(readFileSync(join(dir, 'migration_lock.toml'), 'utf8')).toMatch(/^provider = "postgresql"$/m);
    expect(readMigrations(dir).map((m) => m.name)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\d{14}_init$/)]),
    );
  });

  it('checksum is the hex sha256 Prisma records', () => {
    expect(checksumOf('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
