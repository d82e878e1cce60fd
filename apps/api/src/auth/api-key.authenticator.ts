import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ApiKeysRepository } from '@trainyard/db';
import type { Principal } from './principal';

/**
 * How long a verified key is trusted without asking the database again (so revocation takes at
 * most this long), and how often the keys of open streams are asked again (OpenRequestKeyCheck).
 */
export const KEY_CACHE_TTL_MS = 5_000;
const KEY_CACHE_MAX = 10_000;

/**
 * Turns a bearer token into a Principal: one database read per key every few seconds, not one
 * per request. Cached entries are keyed by a digest of the token, never the token itself.
 */
@Injectable()
export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, { principal: Principal | null; expires: number }>();

  constructor(private readonly keys: ApiKeysRepository) {}

  async authenticate(token: string): Promise<Principal | null> {
    const cached = this.cache.get(digestOf(token));
    if (cached && cached.expires > Date.now()) return cached.principal;
    return this.verifyNow(token);
  }

  /** Asks the database whatever the cache holds (a stream's periodic re-check), and caches the answer. */
  async verifyNow(token: string): Promise<Principal | null> {
    const key = await this.keys.verify(token);
    const principal: Principal | null = key
      ? { keyId: key.id, name: key.name, scopes: key.scopes, project: key.project }
      : null;
    const digest = digestOf(token);
    this.cache.delete(digest);
    if (this.cache.size >= KEY_CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(digest, { principal, expires: Date.now() + KEY_CACHE_TTL_MS });
    return principal;
  }

  /** Forget every verified key at once (after a revocation through this process). */
  forgetAll(): void {
    this.cache.clear();
  }
}

function digestOf(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
