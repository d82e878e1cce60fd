import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ApiKeysRepository } from '@trainyard/db';
import type { Principal } from './principal';

/**
 * How long a verified key is trusted without asking the database again (so revocation takes at
 * most this long), and how often the keys of open streams are asked again (OpenRequestKeyCheck).
 */
export const KEY_CACHE_TTL_MS = 5_000;
/** Keys a process keeps proven (and cached), the least recently verified dropped first. */
export const KEY_CACHE_MAX = 10_000;

/**
 * Turns a bearer token into a Principal: one database read per key every few seconds, not one
 * per request. Cached entries are keyed by a digest of the token, never the token itself.
 *
 * Only live keys are cached: an unknown, wrong or revoked token is never kept, so a guesser's
 * stream of tokens cannot push the keys of real users out (their requests would all go to the
 * database). Past its KEY_CACHE_TTL_MS an entry is no longer trusted, but it stays, as the mark
 * that this process has proven the token a live key (hasProven) until the key fails a check or
 * the KEY_CACHE_MAX newest proven keys push it out.
 */
@Injectable()
export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, { principal: Principal; expires: number }>();

  constructor(private readonly keys: ApiKeysRepository) {}

  async authenticate(token: string): Promise<Principal | null> {
    const cached = this.cache.get(digestOf(token));
    if (cached && cached.expires > Date.now()) return cached.principal;
    return this.verifyNow(token);
  }

  /** Asks the database whatever the cache holds (a stream's periodic re-check), and caches a live key. */
  async verifyNow(token: string): Promise<Principal | null> {
    const key = await this.keys.verify(token);
    const digest = digestOf(token);
    this.cache.delete(digest);
    if (!key) return null;
    const principal: Principal = { keyId: key.id, name: key.name, scopes: key.scopes, project: key.project };
    if (this.cache.size >= KEY_CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(digest, { principal, expires: Date.now() + KEY_CACHE_TTL_MS });
    return principal;
  }

  /**
   * Whether this process has proven `token` a live key (within its KEY_CACHE_MAX newest, and not
   * failed since): no one can present such a token without holding a real key, so the guard lets
   * it be looked up even from an address past its budget of failed authentications.
   */
  hasProven(token: string): boolean {
    return this.cache.has(digestOf(token));
  }

  /**
   * Every key is asked of the database again at its next request (after a revocation through this
   * process); the keys stay proven until that answer.
   */
  expireAll(): void {
    for (const entry of this.cache.values()) entry.expires = 0;
  }
}

function digestOf(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
