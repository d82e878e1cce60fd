import { InvalidObjectKeyError } from './invalid-object-key.error';

/**
 * Keys come from run ids and file names that travel through the API, so both stores refuse
 * anything that could name a path outside their root or bucket prefix: `..`, `.`, empty segments,
 * absolute paths, backslashes (a separator on Windows) and NUL.
 */
export function assertValidKey(key: string): void {
  if (key === '') throw new InvalidObjectKeyError(key, 'it is empty');
  assertValidPrefix(key);
  if (key.endsWith('/')) throw new InvalidObjectKeyError(key, 'it ends with "/" (that names a folder)');
}

/** Why `prefix` cannot name a key or folder of a store, or null when it can. */
export function prefixProblem(prefix: string): string | null {
  if (prefix === '') return null;
  if (prefix.startsWith('/')) return 'it starts with "/"';
  if (prefix.includes('\\')) return 'it contains "\\"';
  if (prefix.includes('\0')) return 'it contains a NUL byte';
  const segments = prefix.split('/');
  if (prefix.endsWith('/')) segments.pop();
  for (const segment of segments) {
    if (segment === '') return 'it contains an empty path segment ("//")';
    if (segment === '.' || segment === '..') return `it contains a "${segment}" segment`;
  }
  return null;
}

/** A prefix is a key or a folder (`a/b/`), or '' for everything. */
export function assertValidPrefix(prefix: string): void {
  const problem = prefixProblem(prefix);
  if (problem) throw new InvalidObjectKeyError(prefix, problem);
}

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * A folder a person names in the store (a dataset's S3 prefix): `a/b` becomes `a/b/`; `./x/`,
 * `a//b/`, `../x`, `/abs`, `''` and control characters are refused with InvalidObjectKeyError,
 * since S3 would take them literally and name a folder nobody meant.
 */
export function normalizeObjectPrefix(prefix: string): string {
  if (prefix === '') throw new InvalidObjectKeyError(prefix, 'it is empty (name a folder, e.g. datasets/flowers/)');
  if (CONTROL_CHARACTERS.test(prefix)) throw new InvalidObjectKeyError(prefix, 'it contains a control character');
  const folder = prefix.endsWith('/') ? prefix : `${prefix}/`;
  assertValidPrefix(folder);
  return folder;
}
