import { randomUUID } from 'node:crypto';
import type { ApiKeyScope, ApiKeyView } from '@trainyard/contracts';
import type { PrismaClient } from './generated/prisma/client';
import { apiKeyHash, apiKeyLookup, apiKeyMatches, newApiKeySalt, newApiKeyToken } from './api-key-token';
import {
  checkLimit,
  createdBefore,
  decodeCreatedCursor,
  encodeCreatedCursor,
  type CatalogPage,
  type CatalogPageQuery,
} from './catalog-page';
import { apiKeyView } from './views';

export interface ApiKeyCreation {
  name: string;
  scopes: ApiKeyScope[];
  project: string | null;
}

/** The columns apiKeyView shows (never the lookup, salt or hash). */
const VIEW = {
  id: true,
  name: true,
  scopes: true,
  project: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
} as const;

/** `last_used_at` is written at most this often per key, so every request does not cost a write. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Namespace of the per-project advisory locks taken while a project's live keys are counted and one is added (two-int form). */
const PROJECT_KEYS_LOCK_NAMESPACE = 72_707_374;

export class ApiKeysRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Creates a key and returns its token: the only time anyone sees it. */
  create(input: ApiKeyCreation, token = newApiKeyToken()): Promise<{ key: ApiKeyView; token: string }> {
    return insertKey(this.prisma, input, token);
  }

  /**
   * Creates a key of `project` unless the project already holds `limit` live (unrevoked) keys:
   * then `{ full: <live keys> }`, nothing written. The count and the insert are made under the
   * project's advisory lock, held until the transaction ends: two creates racing for the last
   * place (on one replica or two) take turns, and the second counts the first's key. The lock is
   * a statement of its own, so the count's snapshot is taken after it is granted.
   */
  createWithin(
    input: ApiKeyCreation & { project: string },
    limit: number,
  ): Promise<{ key: ApiKeyView; token: string } | { full: number }> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${PROJECT_KEYS_LOCK_NAMESPACE}::int4, hashtext(${input.project}))`;
      const live = await tx.apiKey.count({ where: { project: input.project, revokedAt: null } });
      return live >= limit ? { full: live } : insertKey(tx, input, newApiKeyToken());
    });
  }

  /**
   * Provisions the operator's key from the environment: created on first start, left as it is on
   * later ones (a revoked one stays revoked). Safe when several replicas start at once.
   */
  async ensure(token: string, input: ApiKeyCreation): Promise<ApiKeyView> {
    const lookup = apiKeyLookup(token);
    const existing = await this.prisma.apiKey.findUnique({ where: { lookup }, select: VIEW });
    if (existing) return apiKeyView(existing);
    const salt = newApiKeySalt();
    await this.prisma.apiKey.createMany({
      data: [{ id: randomUUID(), ...input, lookup, salt, hash: apiKeyHash(token, salt) }],
      skipDuplicates: true,
    });
    return apiKeyView(await this.prisma.apiKey.findUniqueOrThrow({ where: { lookup }, select: VIEW }));
  }

  /** The live key this token proves, or null (unknown, wrong, revoked). */
  async verify(token: string): Promise<ApiKeyView | null> {
    const row = await this.prisma.apiKey.findUnique({ where: { lookup: apiKeyLookup(token) } });
    if (!row || row.revokedAt || !apiKeyMatches(token, row.salt, row.hash)) return null;
    await touchLastUsed(this.prisma, row);
    return apiKeyView(row);
  }

  /**
   * A page of keys, newest first (one project's, or every key with `project` undefined; only live
   * or only revoked ones with `revoked`): keyset pages, so keys made or revoked meanwhile neither
   * repeat nor vanish, however many a fleet has made.
   */
  async page(query: CatalogPageQuery & { revoked?: boolean }): Promise<CatalogPage<ApiKeyView>> {
    checkLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeCreatedCursor('keys', query.cursor);
    const state = query.revoked === undefined ? {} : { revokedAt: query.revoked ? { not: null } : null };
    const rows = await this.prisma.apiKey.findMany({
      where: { project: query.project, ...state, ...createdBefore(after) },
      select: VIEW,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return {
      items: page.map(apiKeyView),
      nextCursor: rows.length > query.limit ? encodeCreatedCursor('keys', page.at(-1)!) : null,
    };
  }

  /**
   * Revokes a key (kept for the record); null when there is no such key, or, with `project`, no
   * such key of that project. Repeating is harmless.
   */
  async revoke(id: string, project?: string): Promise<ApiKeyView | null> {
    return (await this.revocation(id, project))?.key ?? null;
  }

  /**
   * Revokes a key as `revoke` does, saying whether it was revoked already (by an earlier request,
   * or one racing this one): only the first revocation stamps `revokedAt` and ends the key's
   * dashboard sessions, which would prove nothing any more and only fill the table until they expire.
   */
  async revocation(id: string, project?: string): Promise<{ key: ApiKeyView; already: boolean } | null> {
    const found = await this.prisma.apiKey.findUnique({ where: { id }, select: { project: true } });
    if (!found || (project !== undefined && found.project !== project)) return null;
    const revoked = await this.prisma.$transaction(async (tx) => {
      const { count } = await tx.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
      if (count > 0) await tx.apiKeySession.deleteMany({ where: { keyId: id } });
      return count > 0;
    });
    const key = apiKeyView(await this.prisma.apiKey.findUniqueOrThrow({ where: { id }, select: VIEW }));
    return { key, already: !revoked };
  }
}

/** Records that a key was used (by itself or one of its sessions), at most once a LAST_USED_RESOLUTION_MS. */
export async function touchLastUsed(
  db: Pick<PrismaClient, 'apiKey'>,
  key: { id: string; lastUsedAt: Date | null },
): Promise<void> {
  if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await db.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: new Date() } });
  }
}

async function insertKey(
  db: Pick<PrismaClient, 'apiKey'>,
  input: ApiKeyCreation,
  token: string,
): Promise<{ key: ApiKeyView; token: string }> {
  const salt = newApiKeySalt();
  const row = await db.apiKey.create({
    data: { id: randomUUID(), ...input, lookup: apiKeyLookup(token), salt, hash: apiKeyHash(token, salt) },
    select: VIEW,
  });
  return { key: apiKeyView(row), token };
}
