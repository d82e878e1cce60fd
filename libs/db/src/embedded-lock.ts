import { linkSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * Who holds an embedded database: written into `<dataDir>.lock` (beside the data directory, not in
 * it, so PGlite's PGDATA holds only its own files).
 */
export interface EmbeddedLockHolder {
  pid: number;
  command: string;
  since: string;
  /**
   * What tells the holder from a later process given the same pid (after a reboot, or a container's
   * restart: pid 1 again), where procfs has them (Linux): its start time in clock ticks after boot
   * (field 22 of /proc/<pid>/stat) and the boot's id. Absent elsewhere, and in locks written before
   * they were recorded: then the pid alone decides.
   */
  startTime?: string;
  bootId?: string;
}

/** Where procfs is mounted; the lock's functions take another (tests give a stand-in, or none). */
const PROC = '/proc';

/** Another live process has the embedded database open: PGlite allows one at a time. */
export class EmbeddedDatabaseInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: EmbeddedLockHolder,
    readonly lockPath: string,
  ) {
    super(
      `The embedded database in ${dataDir} is in use by process ${holder.pid} (${holder.command}, since ${holder.since}): ` +
        `PGlite allows one process at a time, and a second one would corrupt it. Stop that process ` +
        `(Ctrl-C in its terminal, or kill ${holder.pid}) and run this again, or set DATABASE_URL to use PostgreSQL. ` +
        `(Lock file: ${lockPath}; it is removed when that process ends.)`,
    );
    this.name = 'EmbeddedDatabaseInUseError';
  }
}

export interface EmbeddedLock {
  readonly path: string;
  /** Removes the lock file if it is still this holder's; safe to call twice. */
  release(): void;
}

/** Lock files this process holds: a lock naming our own pid that is not in here was left by an earlier process. */
const held = new Set<string>();

export function embeddedLockPath(dataDir: string): string {
  return `${dataDir}.lock`;
}

/**
 * Takes the exclusive lock on an embedded data directory, or throws EmbeddedDatabaseInUseError
 * naming the live process that holds it. A lock whose process is gone (a crash, a SIGKILL, a
 * reboot) is stale and taken over, also when its pid now belongs to another process (see
 * EmbeddedLockHolder's startTime). Pids mean something on one machine only: a data directory on a
 * disk shared by two machines or containers is not protected. The file appears whole (written
 * aside, then hard-linked into place), so a reader never sees an empty lock. Released by
 * `release()` and, failing that, when this process exits. One gap remains: two processes taking
 * over the same stale lock at the same instant may both remove it; the clean cases (a live holder,
 * a dead one) are exact.
 */
export function acquireEmbeddedLock(dataDir: string, proc = PROC): EmbeddedLock {
  const path = embeddedLockPath(dataDir);
  const mine: EmbeddedLockHolder = {
    pid: process.pid,
    command: describeProcess(),
    since: new Date().toISOString(),
    ...processIdentity(process.pid, proc),
  };
  const content = `${JSON.stringify(mine)}\n`;
  const staging = `${path}.${process.pid}.${Date.now()}`;
  writeFileSync(staging, content, { mode: 0o644 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(staging, path); // fails with EEXIST when any lock is there: the O_EXCL of a whole file
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error;
      }
      const holder = readHolder(path);
      if (holder && isLive(holder, path, proc)) throw new EmbeddedDatabaseInUseError(dataDir, holder, path);
      removeIfPresent(path);
    }
  } finally {
    removeIfPresent(staging);
  }
  held.add(path);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    held.delete(path);
    process.removeListener('exit', release);
    // Only our own lock: if it was taken over meanwhile (we were thought dead), it is not ours to remove.
    if (readHolderRaw(path) === content) removeIfPresent(path);
  };
  process.once('exit', release);
  return { path, release };
}

/** The live process holding the embedded database at `dataDir`, or null when it is free (or its lock stale). */
export function embeddedLockHolder(dataDir: string, proc = PROC): EmbeddedLockHolder | null {
  const path = embeddedLockPath(dataDir);
  const holder = readHolder(path);
  return holder && isLive(holder, path, proc) ? holder : null;
}

/** What identifies process `pid` beyond its pid, as far as `proc` tells (nothing without procfs). */
function processIdentity(pid: number, proc = PROC): Pick<EmbeddedLockHolder, 'startTime' | 'bootId'> {
  const startTime = readStartTime(pid, proc);
  const bootId = readBootId(proc);
  return { ...(startTime ? { startTime } : {}), ...(bootId ? { bootId } : {}) };
}

function readHolderRaw(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function readHolder(path: string): EmbeddedLockHolder | null {
  const raw = readHolderRaw(path);
  if (raw === null) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<EmbeddedLockHolder>;
    if (Number.isInteger(parsed.pid) && (parsed.pid as number) > 0)
      return {
        pid: parsed.pid as number,
        command: String(parsed.command ?? '?'),
        since: String(parsed.since ?? '?'),
        ...(typeof parsed.startTime === 'string' ? { startTime: parsed.startTime } : {}),
        ...(typeof parsed.bootId === 'string' ? { bootId: parsed.bootId } : {}),
      };
  } catch {
    // Not ours to read (hand-edited, or truncated by a full disk): stale, unless it is brand new.
  }
  return isFresh(path) ? { pid: 0, command: 'unknown', since: 'just now' } : null;
}

function isLive(holder: EmbeddedLockHolder, path: string, proc: string): boolean {
  const { pid } = holder;
  if (pid === 0) return true; // an unreadable but brand-new lock: someone is writing it
  // Our own pid on a lock we do not hold: left by an earlier process that had our pid (a container's pid 1).
  if (pid === process.pid) return held.has(path);
  // Written before a reboot: none of that boot's processes is alive, whatever has the pid now.
  const bootId = readBootId(proc);
  if (holder.bootId && bootId && holder.bootId !== bootId) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: alive, another user's
  }
  // The pid is alive, but is it the holder? Not if it started at another time: the pid was reused.
  // When either start time is unknown (no procfs, a hidepid mount, an older lock), it counts as the holder.
  const startTime = holder.startTime === undefined ? undefined : readStartTime(pid, proc);
  return !(startTime && startTime !== holder.startTime);
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks after boot. */
function readStartTime(pid: number, proc: string): string | undefined {
  const stat = readIfPresent(join(proc, String(pid), 'stat'));
  // Field 2 is the command name in parentheses, which may hold spaces and ')': count after the last ')'.
  const fields = stat
    ?.slice(stat.lastIndexOf(')') + 1)
    .trim()
    .split(/\s+/);
  const startTime = fields?.[22 - 3]; // fields[0] is field 3, the state
  return startTime && /^\d+$/.test(startTime) ? startTime : undefined;
}

function readBootId(proc: string): string | undefined {
  return readIfPresent(join(proc, 'sys/kernel/random/boot_id'))?.trim() || undefined;
}

/** A procfs file's text, or undefined where it cannot be read (no procfs, another system, hidepid). */
function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function isFresh(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < 5000;
  } catch {
    return false;
  }
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function describeProcess(): string {
  const script = process.argv[1] ? basename(process.argv[1]) : '';
  return script ? `node ${script}` : 'node';
}
