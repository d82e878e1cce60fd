import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LocalPathRefusal = 'no-roots' | 'not-absolute' | 'outside' | 'missing';

const REASONS: Record<LocalPathRefusal, string> = {
  'no-roots':
    'local paths are not enabled on this server (an operator lists the folders it may read in TRAINYARD_LOCAL_ROOTS)',
  'not-absolute': 'expected an absolute path (or file:// URI) with no NUL byte',
  // One sentence for every path outside the roots, whether it exists or not, is a folder or a file.
  outside: 'is not inside a folder this server may read (TRAINYARD_LOCAL_ROOTS)',
  missing: 'does not exist',
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

/** The real path of the deepest ancestor of `path` (itself included) that resolves. */
async function deepestReal(path: string): Promise<string> {
  for (let at = path; ; at = dirname(at)) {
    const real = await realpath(at).catch(() => null);
    if (real !== null) return real;
    if (dirname(at) === at) return at;
  }
}

/**
 * The real path of `path` (symlinks and `..` resolved), only when it lies inside one of `roots`
 * (themselves resolved with realpath); otherwise LocalPathRefusedError. A missing path is said to
 * be missing only when the deepest part of it that exists is inside a root: what lies outside the
 * roots is never revealed, not even through a symlink inside a root that points out.
 */
export async function resolveUnderRoots(path: string, roots: readonly string[]): Promise<string> {
  if (roots.length === 0) throw new LocalPathRefusedError('no-roots');
  if (path.includes('\0') || !isAbsolute(path)) throw new LocalPathRefusedError('not-absolute');
  const allowed = await realRoots(roots);
  const real = await realpath(path).catch(() => null);
  if (real !== null) {
    if (allowed.some((root) => inside(root, real))) return real;
    throw new LocalPathRefusedError('outside');
  }
  const existing = await deepestReal(path);
  throw new LocalPathRefusedError(allowed.some((root) => inside(root, existing)) ? 'missing' : 'outside');
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
