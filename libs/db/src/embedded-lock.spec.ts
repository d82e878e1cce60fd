import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireEmbeddedLock, EmbeddedDatabaseInUseError, embeddedLockHolder, embeddedLockPath } from './embedded-lock';

describe('the embedded database lock', () => {
  let dir: string;
  let dataDir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-lock-'));
    dataDir = join(dir, 'pglite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeHolder = (pid: number) =>
    writeFileSync(
      embeddedLockPath(dataDir),
      JSON.stringify({ pid, command: 'node embedded-server.js', since: '2026-01-01T00:00:00.000Z' }),
    );

  it('is held by one opener at a time, the second told which process holds it', () => {
    const lock = acquireEmbeddedLock(dataDir);
    expect(JSON.parse(readFileSync(embeddedLockPath(dataDir), 'utf8'))).toMatchObject({ pid: process.pid });
    expect(embeddedLockHolder(dataDir)).toMatchObject({ pid: process.pid });
    let error: unknown;
    try {
      acquireEmbeddedLock(dataDir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EmbeddedDatabaseInUseError);
    expect((error as Error).message).toContain(`in use by process ${process.pid}`);
    expect((error as Error).message).toContain(`kill ${process.pid}`);
    lock.release();
    lock.release();
    expect(existsSync(embeddedLockPath(dataDir))).toBe(false);
    expect(embeddedLockHolder(dataDir)).toBeNull();
    acquireEmbeddedLock(dataDir).release();
  });

  it('refuses while another live process holds it', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      writeHolder(other.pid!);
      expect(() => acquireEmbeddedLock(dataDir)).toThrow(`in use by process ${other.pid} (node embedded-server.js`);
      expect(embeddedLockHolder(dataDir)).toMatchObject({ pid: other.pid });
    } finally {
      other.kill('SIGKILL');
      await new Promise((resolve) => other.once('exit', resolve));
    }
  });

  it('takes over a lock whose process is gone, and one that names this pid but was left by an earlier process', () => {
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    writeHolder(Number(dead.stdout.trim()));
    expect(embeddedLockHolder(dataDir)).toBeNull();
    const lock = acquireEmbeddedLock(dataDir);
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
    lock.release();

    writeHolder(process.pid);
    acquireEmbeddedLock(dataDir).release();
    expect(existsSync(embeddedLockPath(dataDir))).toBe(false);
  });

  it('does not remove a lock that another process took over meanwhile', () => {
    const lock = acquireEmbeddedLock(dataDir);
    writeHolder(1);
    lock.release();
    expect(JSON.parse(readFileSync(embeddedLockPath(dataDir), 'utf8')).pid).toBe(1);
  });
});
