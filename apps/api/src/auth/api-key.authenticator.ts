import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { ApiKeySessionsRepository, ApiKeysRepository } from '@trainyard/db';
import { CONFIG } from '@trainyard/infrastructure';
import type { Principal } from './principal';

/**
 * How long a verified key is trusted without asking the database again (so revocation takes at
 * most this long), and how often the keys of open streams are asked again (OpenRequestKeyCheck).
 */
export const KEY_CACHE_TTL_MS = 5_000;
/** Keys a process keeps proven (and cached), the least recently verified dropped first. */
export const KEY_CACHE_MAX = 10_000;

/**
 * What a request presents: an API key (only ever from `Authorization: Bearer`, or a sign-in's body)
 * or a dashboard session token (only ever from the session cookie). Each is looked up only as what
 * it was sent as, so a session token sent as a bearer token is an unknown key (a copied cookie is
 * no API key for curl), and a cookie holding a key (as it did before sessions) is an unknown session.
 */
export interface Credential {
  kind: 'key' | 'session';
  token: string;
}

export function keyCredential(token: string): Credential {
  return { kind: 'key', token };
}

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
    private readonly sessions: ApiKeySessionsRepository,
    @Inject(CONFIG) config: TrainyardConfig,
  ) {
    this.outageGraceMs = config.auth.outageGraceMs;
  }

  async authenticate(credential: Credential): Promise<Principal | null> {
    const cached = this.cache.get(digestOf(credential));
    if (cached && cached.expires > Date.now()) return cached.principal;
    try {
      return await this.verifyNow(credential);
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
  async verifyNow(credential: Credential): Promise<Principal | null> {
    const key = await (credential.kind === 'key' ? this.keys : this.sessions).verify(credential.token);
    this.inOutage = false;
    const digest = digestOf(credential);
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
  hasProven(credential: Credential): boolean {
    return this.cache.has(digestOf(credential));
  }

  /** No longer proven here (a session signed out through this process): its next use asks the database. */
  forget(credential: Credential): void {
    this.cache.delete(digestOf(credential));
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

function digestOf(credential: Credential): string {
  return createHash('sha256').update(`${credential.kind}:${credential.token}`).digest('base64url');
}
