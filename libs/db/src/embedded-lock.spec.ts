import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  acquireEmbeddedLock,
  EmbeddedDatabaseInUseError,
  embeddedLockHolder,
  embeddedLockPath,
  type EmbeddedLockHolder,
} from './embedded-lock';

/** procfs, where the kernel has one (Linux): the tests that need the real one run only there. */
const withProc = existsSync('/proc/self/stat') ? it : it.skip;
/** Field 22 of /proc/<pid>/stat (after the command name, which may hold spaces), read here on its own. */
const startTimeOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
};
const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

describe('the embedded database lock', () => {
  let dir: string;
  let dataDir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-lock-'));
    dataDir = join(dir, 'pglite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeHolder = (pid: number, identity: Pick<EmbeddedLockHolder, 'startTime' | 'bootId'> = {}) =>
    writeFileSync(
      embeddedLockPath(dataDir),
      JSON.stringify({ pid, command: 'node embedded-server.js', since: '2026-01-01T00:00:00.000Z', ...identity }),
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

  withProc('records what tells its holder from a later process with the same pid: start time and boot id', () => {
    const lock = acquireEmbeddedLock(dataDir);
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({
      pid: process.pid,
      startTime: startTimeOf(process.pid),
      bootId: bootId(),
    });
    lock.release();
  });

  withProc(
    'takes over a lock whose pid is alive but another process: started at another time, or before a reboot',
    () => {
      // The test's parent is alive, with a pid the lock names: what a reused pid looks like.
      const parent = process.ppid;
      expect(() => process.kill(parent, 0)).not.toThrow();
      writeHolder(parent, { startTime: String(Number(startTimeOf(parent)) + 1), bootId: bootId() });
      expect(embeddedLockHolder(dataDir)).toBeNull();
      const lock = acquireEmbeddedLock(dataDir);
      expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
      lock.release();

      writeHolder(parent, { startTime: startTimeOf(parent), bootId: 'a-boot-before-the-last-reboot' });
      expect(embeddedLockHolder(dataDir)).toBeNull();
      acquireEmbeddedLock(dataDir).release();
      expect(existsSync(embeddedLockPath(dataDir))).toBe(false);
    },
  );

  withProc('still refuses the process that holds it, and names it', () => {
    const parent = process.ppid;
    writeHolder(parent, { startTime: startTimeOf(parent), bootId: bootId() });
    expect(() => acquireEmbeddedLock(dataDir)).toThrow(
      `in use by process ${parent} (node embedded-server.js, since 2026-01-01T00:00:00.000Z)`,
    );
    expect(embeddedLockHolder(dataDir)).toMatchObject({ pid: parent, startTime: startTimeOf(parent) });
    expect(existsSync(embeddedLockPath(dataDir))).toBe(true);
  });

  it('reads the start time after the command name, whatever that name holds (a stand-in procfs)', () => {
    const proc = join(dir, 'proc');
    const parent = process.ppid;
    mkdirSync(join(proc, String(parent)), { recursive: true });
    mkdirSync(join(proc, 'sys/kernel/random'), { recursive: true });
    writeFileSync(join(proc, 'sys/kernel/random/boot_id'), 'boot-1\n');
    // Fields 3 to 21, then 22: the start time; the name (field 2) has a space and a ')'.
    const stat = (startTime: number) =>
      `${parent} (odd) name) S ${Array.from({ length: 18 }, (_, i) => i + 4).join(' ')} ${startTime} 3133440 359\n`;
    writeFileSync(join(proc, String(parent), 'stat'), stat(424242));
    writeHolder(parent, { startTime: '424242', bootId: 'boot-1' });
    expect(() => acquireEmbeddedLock(dataDir, proc)).toThrow(`in use by process ${parent}`);
    writeFileSync(join(proc, String(parent), 'stat'), stat(424243));
    expect(embeddedLockHolder(dataDir, proc)).toBeNull();
    const lock = acquireEmbeddedLock(dataDir, proc);
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({ pid: process.pid, bootId: 'boot-1' });
    lock.release();
  });

  it('falls back to the pid alone where there is no procfs: records none, refuses a live pid, takes over a dead one', async () => {
    const noProc = join(dir, 'no-proc');
    const lock = acquireEmbeddedLock(dataDir, noProc);
    const recorded = JSON.parse(readFileSync(lock.path, 'utf8')) as EmbeddedLockHolder;
    expect([recorded.pid, recorded.startTime, recorded.bootId]).toEqual([process.pid, undefined, undefined]);
    lock.release();

    // A lock written where procfs was, read where it is not: nothing to compare, the live pid holds.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      writeHolder(other.pid!, { startTime: '1', bootId: 'another-boot' });
      expect(() => acquireEmbeddedLock(dataDir, noProc)).toThrow(`in use by process ${other.pid}`);
    } finally {
      other.kill('SIGKILL');
      await new Promise((resolve) => other.once('exit', resolve));
    }
    expect(embeddedLockHolder(dataDir, noProc)).toBeNull();
    acquireEmbeddedLock(dataDir, noProc).release();
  });
});
