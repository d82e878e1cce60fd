import { randomUUID } from 'node:crypto';
import type { ApiKeyView } from '@trainyard/contracts';
import type { PrismaClient } from './generated/prisma/client';
import { newSessionToken, sessionDigest } from './api-key-token';
import { touchLastUsed } from './api-keys.repository';
import { apiKeyView } from './views';

/** Sessions one key holds at most: a sign-in past it ends the key's oldest, so no key fills the table. */
export const SESSIONS_MAX_PER_KEY = 100;
/** Expired sessions deleted at each sign-in at most: a bounded cost per sign-in, more than one sign-in makes. */
export const EXPIRED_SESSIONS_DELETED_PER_SIGN_IN = 100;

/** Namespace of the per-key advisory locks taken while a key's sessions are counted and one is added (two-int form). */
const KEY_SESSIONS_LOCK_NAMESPACE = 72_707_375;

/**
 * The dashboard's sessions: a browser signs in once with a key (POST /v1/session) and its cookie
 * then holds a random session token, never the key, so a copied cookie is not an API key, signing
 * out ends it here, and a revoked key's sessions prove nothing. Only the token's digest is stored.
 */
export class ApiKeySessionsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Opens a session of `keyId` for `maxAgeMs`, and returns its token: the only time anyone sees it.
   * Deletes up to EXPIRED_SESSIONS_DELETED_PER_SIGN_IN expired sessions (of any key), and the key's
   * oldest past SESSIONS_MAX_PER_KEY, under the key's advisory lock so sign-ins racing on one key
   * (on one replica or several) never leave it more.
   */
  open(keyId: string, maxAgeMs: number, maxPerKey = SESSIONS_MAX_PER_KEY): Promise<string> {
    const token = newSessionToken();
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`
        DELETE FROM "api_key_sessions" WHERE "id" IN (
          SELECT "id" FROM "api_key_sessions" WHERE "expires_at" <= now()
          ORDER BY "expires_at" LIMIT ${EXPIRED_SESSIONS_DELETED_PER_SIGN_IN})`;
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${KEY_SESSIONS_LOCK_NAMESPACE}::int4, hashtext(${keyId}))`;
      const now = Date.now();
      await tx.apiKeySession.create({
        data: {
          id: randomUUID(),
          keyId,
          digest: sessionDigest(token),
          createdAt: new Date(now),
          expiresAt: new Date(now + maxAgeMs),
        },
      });
      await tx.$executeRaw`
        DELETE FROM "api_key_sessions" WHERE "id" IN (
          SELECT "id" FROM "api_key_sessions" WHERE "key_id" = ${keyId}::uuid
          ORDER BY "created_at" DESC, "id" DESC OFFSET ${maxPerKey})`;
      return token;
    });
  }

  /** The live key whose unexpired session this token is, or null (unknown, ended, expired, its key revoked). */
  async verify(token: string): Promise<ApiKeyView | null> {
    const row = await this.prisma.apiKeySession.findUnique({
      where: { digest: sessionDigest(token) },
      include: { key: true },
    });
    if (!row || row.expiresAt.getTime() <= Date.now() || row.key.revokedAt) return null;
    await touchLastUsed(this.prisma, row.key);
    return apiKeyView(row.key);
  }

  /** Ends the session this token is (signing out): whether there was one. */
  async end(token: string): Promise<boolean> {
    const { count } = await this.prisma.apiKeySession.deleteMany({ where: { digest: sessionDigest(token) } });
    return count > 0;
  }
}
