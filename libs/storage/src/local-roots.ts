import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LocalPathRefusal = 'no-roots' | 'not-absolute' | 'outside';

const REASONS: Record<LocalPathRefusal, string> = {
  'no-roots':
    'local paths are not enabled on this server (an operator lists the folders it may read in TRAINYARD_LOCAL_ROOTS)',
  'not-absolute': 'expected an absolute path (or file:// URI) with no NUL byte',
  // One sentence for every path that does not resolve to something inside the roots: outside,
  // missing (inside or out), a dangling link, a link out, unreadable, a file or a folder.
  outside: 'is not inside a folder this server may read (TRAINYARD_LOCAL_ROOTS)',
};

/**
 * A local path this server will not read. The message never depends on what is outside the
 * configured roots: existing or not, readable or not, file or folder, the answer is the same.
 */
export class LocalPathRefusedError extends Error {
  constructor(readonly refusal: LocalPathRefusal) {
    super(REASONS[refusal]);
    this.name = 'LocalPathRefusedError';
  }
}

function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  // Segment-aware: /data2 is not under /data (`relative` gives `../data2`).
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

async function realRoots(roots: readonly string[]): Promise<string[]> {
  const real = await Promise.all(roots.map((root) => realpath(root).catch(() => null)));
  return real.filter((root): root is string => root !== null);
}

/**
 * The real path of `path` (symlinks and `..` resolved), only when it exists and lies inside one of
 * `roots` (themselves resolved with realpath); otherwise LocalPathRefusedError('outside'). A path
 * that does not resolve gets that same answer wherever it is: telling "missing" from "outside"
 * would reveal what lies outside the roots, since a link inside a root to a missing target
 * (`root/b -> /etc/nope`) does not resolve while one to an existing file (`/etc/passwd`) does.
 */
export async function resolveUnderRoots(path: string, roots: readonly string[]): Promise<string> {
  if (roots.length === 0) throw new LocalPathRefusedError('no-roots');
  if (path.includes('\0') || !isAbsolute(path)) throw new LocalPathRefusedError('not-absolute');
  const allowed = await realRoots(roots);
  const real = await realpath(path).catch(() => null);
  if (real !== null && allowed.some((root) => inside(root, real))) return real;
  throw new LocalPathRefusedError('outside');
}

/** The local path a `file://` URI (or a bare absolute path) names; refused when it names none. */
export function localPathOf(uri: string): string {
  if (!uri.startsWith('file://')) return uri;
  try {
    return fileURLToPath(uri); // throws on a remote host or an encoded `/`
  } catch {
    throw new LocalPathRefusedError('not-absolute');
  }
}
