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

/** A prefix is a key or a folder (`a/b/`), or '' for everything. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  if (prefix.startsWith('/')) throw new InvalidObjectKeyError(prefix, 'it starts with "/"');
  if (prefix.includes('\\')) throw new InvalidObjectKeyError(prefix, 'it contains "\\"');
  if (prefix.includes('\0')) throw new InvalidObjectKeyError(prefix, 'it contains a NUL byte');
  const segments = prefix.split('/');
  if (prefix.endsWith('/')) segments.pop();
  for (const segment of segments) {
    if (segment === '') throw new InvalidObjectKeyError(prefix, 'it contains an empty path segment ("//")');
    if (segment === '.' || segment === '..') {
      throw new InvalidObjectKeyError(prefix, `it contains a "${segment}" segment`);
    }
  }
}
