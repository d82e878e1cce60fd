import { statSync, type Stats } from 'node:fs';

/** A failed system call on a local file or folder, as Node reports it (`fs`, a stream's write). */
interface SystemError {
  code: string;
  syscall: string;
  path?: string;
  dest?: string;
  message: string;
}

/** What the syscall was doing, in words: `mkdir` → "create the folder". */
const DOING: Record<string, string> = {
  mkdir: 'create the folder',
  mkdtemp: 'create a folder beside',
  open: 'open',
  write: 'write',
  read: 'read',
  rename: 'rename',
  stat: 'read',
  lstat: 'read',
  scandir: 'list the folder',
  opendir: 'list the folder',
  unlink: 'remove',
  rmdir: 'remove',
  rm: 'remove',
  copyfile: 'copy',
};

/** Why, in words, for the codes a person meets: Node's own ("ENOTDIR: not a directory") says less. */
const WHY: Record<string, string> = {
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file of that name is in the way',
  EISDIR: 'it is a folder',
  ENOENT: 'no such file or folder',
  ENOTEMPTY: 'the folder is not empty',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'over the disk quota',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many files open',
  EIO: 'an input/output error of the device',
};

/**
 * A file where the CLI will not write over one (a `download --archive` of earlier): reported as a
 * failed system call is, "cannot write PATH: a file of that name is in the way (EEXIST)", exit 7,
 * with `hint` saying how to go on.
 */
export class LocalFileInTheWay extends Error {
  readonly code = 'EEXIST';
  constructor(
    readonly syscall: string,
    readonly path: string,
    readonly hint: string,
  ) {
    super(`EEXIST: file already exists, ${syscall} '${path}'`);
  }
}

/** `error` when it is a failed system call (an `E…` code and a syscall), else null. */
export function systemError(error: unknown): SystemError | null {
  const e = error as Partial<SystemError> | null;
  return typeof e?.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) && typeof e.syscall === 'string'
    ? (e as SystemError)
    : null;
}

/** "no space left on the device (ENOSPC)": why a system call failed, for one line. */
export function systemErrorReason(error: SystemError): string {
  const why = WHY[error.code] ?? /^E[A-Z0-9]+: (.+?)(?:, \w+ '.*')?$/s.exec(error.message)?.[1] ?? error.message;
  return `${why} (${error.code})`;
}

/**
 * A failed system call on a named local file or folder in words ("cannot create the folder
 * /data/ckpt: a part of the path is a file, not a folder (ENOTDIR)"), or null for any other error:
 * what `--out` names, a folder uploaded, the login config, not a stack trace.
 */
export function localFileFailure(error: unknown): { detail: string; path: string; reason: string } | null {
  const failed = systemError(error);
  if (!failed || typeof failed.path !== 'string') return null;
  const doing = DOING[failed.syscall] ?? failed.syscall;
  const reason = systemErrorReason(failed);
  const path = failed.dest ? `${failed.path} to ${failed.dest}` : failed.path;
  const hint = error instanceof LocalFileInTheWay ? `: ${error.hint}` : '';
  return { detail: `cannot ${doing} ${path}: ${reason}${hint}`, path: failed.path, reason };
}

/** What is at `path`, or undefined when nothing is (a part of the path missing, or a file: creating it says why). */
export function statIfThere(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}
