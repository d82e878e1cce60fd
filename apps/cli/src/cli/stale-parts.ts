import { lstatSync, readdirSync, rmSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { CommandContext } from './command';

/**
 * How long a partial download must have gone unchanged before the next download to the same place
 * takes it for the leftover of one that died (`kill -9`, a lost machine): a live download writes
 * every few milliseconds, and one stalled this long has long been given up (the API's streams end
 * far sooner).
 */
export const STALE_PART_AGE_MS = 10 * 60_000;
/** What `mkdtemp` and the archive's random suffix add after `.part-`: 6 letters or digits. */
const SUFFIX = /^[A-Za-z0-9]{6}$/;
/** A partial folder holding more entries than a checkpoint ever has is not ours to judge. */
const MAX_ENTRIES = 10_000;

/**
 * Removes the `<destination>.part-XXXXXX` siblings (files or folders) that an interrupted download
 * to this same destination left and that nothing has written to for STALE_PART_AGE_MS, saying so
 * on stderr. Only those: a name of another shape, a link, another user's entry, or one where any
 * file inside changed lately (a download under way beside this one) is left as it is. Best effort:
 * what cannot be read or removed stays, and the download goes on.
 */
export function removeStaleParts(ctx: Pick<CommandContext, 'err'>, destination: string, now = Date.now()): string[] {
  const dir = dirname(destination);
  const stem = `${basename(destination)}.part-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(stem) || !SUFFIX.test(name.slice(stem.length))) continue;
    const path = join(dir, name);
    const newest = lastChange(path);
    if (newest === null || now - newest < STALE_PART_AGE_MS) continue;
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      continue;
    }
    removed.push(path);
    const minutes = Math.floor((now - newest) / 60_000);
    ctx.err(`trainyard: removed ${path}, left by an interrupted download (unchanged for ${minutes} min)\n`);
  }
  return removed;
}

/** The latest mtime of `path` and everything under it; null for what is not ours to remove. */
function lastChange(path: string): number | null {
  const uid = process.getuid?.();
  let newest = 0;
  let seen = 0;
  const walk = (at: string): boolean => {
    let info: Stats;
    try {
      info = lstatSync(at);
    } catch {
      return false;
    }
    if (++seen > MAX_ENTRIES || info.isSymbolicLink() || (uid !== undefined && info.uid !== uid)) return false;
    newest = Math.max(newest, info.mtimeMs);
    if (!info.isDirectory()) return info.isFile();
    try {
      return readdirSync(at).every((entry) => walk(join(at, entry)));
    } catch {
      return false;
    }
  };
  return walk(path) ? newest : null;
}
