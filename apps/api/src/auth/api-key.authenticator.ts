import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { ApiKeysRepository } from '@trainyard/db';
import { CONFIG } from '@trainyard/infrastructure';
import type { Principal } from './principal';

/**
 * How long a verified key is trusted without asking the database again (so revocation takes at
 * most this long), and how often the keys of open streams are asked again (OpenRequestKeyCheck).
 */
export const KEY_CACHE_TTL_MS = 5_000;
/** Keys a process keeps proven (and cached), the least recently verified dropped first. */
export const KEY_CACHE_MAX = 10_000;

interface ProvenKey {
  principal: Principal;
  /** Until when it is trusted without asking the database (KEY_CACHE_TTL_MS after its proof). */
  expires: number;
  /** When the database last said it is live; 0 once it must be asked again whatever happens. */
  provenAt: number;
}

/**
 * Turns a bearer token into a Principal: one database read per key every few seconds, not one
 * per request. Cached entries are keyed by a digest of the token, never the token itself.
 *
 * Only live keys are cached: an unknown, wrong or revoked token is never kept, so a guesser's
 * stream of tokens cannot push the keys of real users out (their requests would all go to the
 * database). Past its KEY_CACHE_TTL_MS an entry is no longer trusted, but it stays, as the mark
 * that this process has proven the token a live key (hasProven) until the key fails a check or
 * the KEY_CACHE_MAX newest proven keys push it out.
 *
 * While the database cannot answer (the check throws: a timeout, a refused connection), a key
 * proven within AUTH_OUTAGE_GRACE_MS is still accepted, as its open streams are
 * (OpenRequestKeyCheck): what needs the database answers 503 anyway, and what does not (the
 * metrics' Redis gauges, scraped every 15–60 s, well past the 5 s proof) goes on being served.
 * A key never proven here, or proven longer ago, gets the database's 503. A revocation through
 * this process takes the grace from every key (expireAll), so the key it revoked never has one.
 */
@Injectable()
export class ApiKeyAuthenticator {
  private readonly logger = new Logger(ApiKeyAuthenticator.name);
  private readonly cache = new Map<string, ProvenKey>();
  private readonly outageGraceMs: number;
  private inOutage = false;

  constructor(
    private readonly keys: ApiKeysRepository,
    @Inject(CONFIG) config: TrainyardConfig,
  ) {
    this.outageGraceMs = config.auth.outageGraceMs;
  }

  async authenticate(token: string): Promise<Principal | null> {
    const cached = this.cache.get(digestOf(token));
    if (cached && cached.expires > Date.now()) return cached.principal;
    try {
      return await this.verifyNow(token);
    } catch (error) {
      if (!cached || Date.now() - cached.provenAt > this.outageGraceMs) throw error;
      if (!this.inOutage)
        this.logger.warn(
          `keys could not be checked (${(error as Error).message}): those proven within the last ${this.outageGraceMs} ms are accepted until the database answers`,
        );
      this.inOutage = true;
      return cached.principal;
    }
  }

  /** Asks the database whatever the cache holds (a stream's periodic re-check), and caches a live key. */
  async verifyNow(token: string): Promise<Principal | null> {
    const key = await this.keys.verify(token);
    this.inOutage = false;
    const digest = digestOf(token);
    this.cache.delete(digest);
    if (!key) return null;
    const principal: Principal = { keyId: key.id, name: key.name, scopes: key.scopes, project: key.project };
    if (this.cache.size >= KEY_CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    const now = Date.now();
    this.cache.set(digest, { principal, expires: now + KEY_CACHE_TTL_MS, provenAt: now });
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
   * process), and none is accepted on an old proof while the database is away; the keys stay
   * proven until that answer.
   */
  expireAll(): void {
    for (const entry of this.cache.values()) {
      entry.expires = 0;
      entry.provenAt = 0;
    }
  }
}

function digestOf(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
