import { linkSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * Who holds an embedded database: written into `<dataDir>.lock` (beside the data directory, not in
 * it, so PGlite's PGDATA holds only its own files).
 */
export interface EmbeddedLockHolder {
  pid: number;
  command: string;
  since: string;
}

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
 * naming the live process that holds it. A lock whose process is gone (a crash, a SIGKILL) is
 * stale and taken over. The file appears whole (written aside, then hard-linked into place), so a
 * reader never sees an empty lock. Released by `release()` and, failing that, when this process
 * exits. One gap remains: two processes taking over the same stale lock at the same instant may
 * both remove it; the clean cases (a live holder, a dead one) are exact.
 */
export function acquireEmbeddedLock(dataDir: string): EmbeddedLock {
  const path = embeddedLockPath(dataDir);
  const mine: EmbeddedLockHolder = {
    pid: process.pid,
    command: describeProcess(),
    since: new Date().toISOString(),
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
      if (holder && isLive(holder.pid, path)) throw new EmbeddedDatabaseInUseError(dataDir, holder, path);
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
export function embeddedLockHolder(dataDir: string): EmbeddedLockHolder | null {
  const path = embeddedLockPath(dataDir);
  const holder = readHolder(path);
  return holder && isLive(holder.pid, path) ? holder : null;
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
      return { pid: parsed.pid as number, command: String(parsed.command ?? '?'), since: String(parsed.since ?? '?') };
  } catch {
    // Not ours to read (hand-edited, or truncated by a full disk): stale, unless it is brand new.
  }
  return isFresh(path) ? { pid: 0, command: 'unknown', since: 'just now' } : null;
}

function isLive(pid: number, path: string): boolean {
  if (pid === 0) return true; // an unreadable but brand-new lock: someone is writing it
  // Our own pid on a lock we do not hold: left by an earlier process that had our pid (a container's pid 1).
  if (pid === process.pid) return held.has(path);
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
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
