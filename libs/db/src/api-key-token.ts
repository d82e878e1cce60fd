import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Generated keys: `ty_` + 256 random bits, base64url. Any string of ≥ 32 characters is accepted as a key (the admin key from the environment). */
const TOKEN_PREFIX = 'ty_';

export function newApiKeyToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * A non-secret handle that finds a key's row: a digest of the token cut to 96 bits. It cannot be
 * turned back into the token; the proof is the keyed hash below.
 */
export function apiKeyLookup(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 16);
}

export function newApiKeySalt(): string {
  return randomBytes(16).toString('base64url');
}

/** HMAC-SHA256 of the token keyed with the key's own salt (the token carries 256 random bits, so no slow hash is needed). */
export function apiKeyHash(token: string, salt: string): string {
  return createHmac('sha256', salt).update(token).digest('base64url');
}

export function apiKeyMatches(token: string, salt: string, hash: string): boolean {
  const expected = Buffer.from(hash, 'base64url');
  const actual = Buffer.from(apiKeyHash(token, salt), 'base64url');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Dashboard session tokens (the cookie POST /v1/session sets): `tys_` + 256 random bits, base64url. */
export const SESSION_TOKEN_PATTERN = /^tys_[A-Za-z0-9_-]{43}$/;

export function newSessionToken(): string {
  return `tys_${randomBytes(32).toString('base64url')}`;
}

/**
 * What is stored of a session token, and how its row is found: its SHA-256. Unlike a key (which may
 * be an operator's chosen TRAINYARD_ADMIN_KEY), a session token is always 256 random bits of ours,
 * so neither a salt nor a keyed hash adds anything: the digest cannot be turned back into a token,
 * and finding a row by it (an index lookup, timing included) tells a guesser nothing it could use.
 */
export function sessionDigest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
