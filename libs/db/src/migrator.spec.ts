import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

describe('findMigrationsDir', () => {
  const repoMigrations = resolve(__dirname, '../../../prisma/migrations');
  const scratch = mkdtempSync(join(tmpdir(), 'trainyard-find-migrations-'));
  const cwd = process.cwd();
  afterEach(() => process.chdir(cwd));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** A Prisma project of some other application: package.json, prisma/migrations with its lock. */
  function otherProject(dir: string): string {
    mkdirSync(join(dir, 'prisma', 'migrations', '20200101000000_theirs'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{"name":"someone-else"}\n');
    writeFileSync(join(dir, 'prisma', 'migrations', 'migration_lock.toml'), 'provider = "postgresql"\n');
    writeFileSync(join(dir, 'prisma', 'migrations', '20200101000000_theirs', 'migration.sql'), 'DROP TABLE runs;\n');
    return join(dir, 'prisma', 'migrations');
  }

  it("finds Trainyard's own beside the code even when started inside another Prisma project", () => {
    const other = otherProject(join(scratch, 'other'));
    process.chdir(join(scratch, 'other'));
    expect(findMigrationsDir()).toBe(repoMigrations);
    expect(findMigrationsDir()).not.toBe(other);
  });

  it('walks up from the built code to its package root (dist/libs/db/src, /app/dist/libs/db/src in the images)', () => {
    const app = join(scratch, 'app');
    mkdirSync(join(app, 'dist', 'libs', 'db', 'src'), { recursive: true });
    mkdirSync(join(app, 'prisma', 'migrations'), { recursive: true });
    writeFileSync(join(app, 'package.json'), '{"name":"trainyard"}\n');
    writeFileSync(join(app, 'prisma', 'migrations', 'migration_lock.toml'), 'provider = "postgresql"\n');
    expect(findMigrationsDir(join(app, 'dist', 'libs', 'db', 'src'))).toBe(join(app, 'prisma', 'migrations'));
  });

  it("stops at the package root: a package without its migrations never takes an enclosing project's", () => {
    const outer = join(scratch, 'outer');
    otherProject(outer);
    const pkg = join(outer, 'node_modules', 'trainyard');
    mkdirSync(join(pkg, 'dist', 'libs', 'db', 'src'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), '{"name":"trainyard"}\n');
    expect(() => findMigrationsDir(join(pkg, 'dist', 'libs', 'db', 'src'))).toThrow(
      `prisma/migrations (with its migration_lock.toml) not found in ${join(pkg, 'dist', 'libs', 'db', 'src')} or a folder above it up to ${pkg}`,
    );
  });
});

describe('the repository migrations', () => {
  it("are found beside the code and carry Prisma's lock file", () => {
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
