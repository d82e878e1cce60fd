import { ConflictException, Inject, Injectable } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { ApiKeyView } from '@trainyard/contracts';
import { ApiKeysRepository, type ApiKeyCreation, type Database, type PrismaClient } from '@trainyard/db';
import { CONFIG, DATABASE } from '@trainyard/infrastructure';

/** Namespace of the per-project advisory locks taken while a project's live keys are counted and one is added (two-int form). */
const PROJECT_KEYS_LOCK_NAMESPACE = 72_707_374;

/**
 * Makes API keys, holding each project to API_KEYS_MAX_PER_PROJECT live (unrevoked) keys: every
 * per-key budget (RATE_LIMIT_PER_MINUTE, SSE_MAX_PER_KEY) is multiplied by the keys a project's
 * admin may mint, so the number of keys is what bounds a project's share. A key without a project
 * (an operator's, which only an operator can make) is not counted.
 *
 * The count and the insert are made under the project's advisory lock, held until the transaction
 * ends: two creates racing for the last place (on one replica or two) take turns, and the second
 * counts the first's key. The lock is a statement of its own, so the count's snapshot is taken
 * after it is granted.
 */
@Injectable()
export class ApiKeyIssuer {
  constructor(
    private readonly keys: ApiKeysRepository,
    @Inject(DATABASE) private readonly database: Database,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  /** The new key and its token; a 409 naming `project` when its project holds its limit of live keys. */
  async issue(input: ApiKeyCreation): Promise<{ key: ApiKeyView; token: string }> {
    const { project } = input;
    if (project === null) return this.keys.create(input);
    const limit = this.config.limits.liveKeysPerProject;
    return this.database.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${PROJECT_KEYS_LOCK_NAMESPACE}::int4, hashtext(${project}))`;
      const live = await tx.apiKey.count({ where: { project, revokedAt: null } });
      if (live >= limit) throw projectKeysFull(project, live, limit);
      // The repository writes with the client it is given: here the transaction's, which has every
      // model it uses (a transaction client lacks only $transaction, $connect and the like).
      return new ApiKeysRepository(tx as unknown as PrismaClient).create(input);
    });
  }
}

function projectKeysFull(project: string, live: number, limit: number): ConflictException {
  const why = `Project ${project} has ${live} live API keys, its limit (API_KEYS_MAX_PER_PROJECT=${limit})`;
  return new ConflictException({
    message: `${why}; revoke one it no longer needs (DELETE /v1/keys/:id) before making another`,
    errors: [{ field: 'project', message: why }],
  });
}
