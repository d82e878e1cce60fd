import { ConflictException, Inject, Injectable } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { ApiKeyView } from '@trainyard/contracts';
import { ApiKeysRepository, type ApiKeyCreation } from '@trainyard/db';
import { CONFIG } from '@trainyard/infrastructure';

/**
 * Makes API keys, holding each project to API_KEYS_MAX_PER_PROJECT live (unrevoked) keys: every
 * per-key budget (RATE_LIMIT_PER_MINUTE, SSE_MAX_PER_KEY) is multiplied by the keys a project's
 * admin may mint, so the number of keys is what bounds a project's share. A key without a project
 * (an operator's, which only an operator can make) is not counted. Race-free: see
 * ApiKeysRepository.createWithin.
 */
@Injectable()
export class ApiKeyIssuer {
  constructor(
    private readonly keys: ApiKeysRepository,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  /** The new key and its token; a 409 naming `project` when its project holds its limit of live keys. */
  async issue(input: ApiKeyCreation): Promise<{ key: ApiKeyView; token: string }> {
    const { project } = input;
    if (project === null) return this.keys.create(input);
    const limit = this.config.limits.liveKeysPerProject;
    const created = await this.keys.createWithin({ ...input, project }, limit);
    if ('full' in created) throw projectKeysFull(project, created.full, limit);
    return created;
  }
}

function projectKeysFull(project: string, live: number, limit: number): ConflictException {
  const why = `Project ${project} has ${live} live API keys, its limit (API_KEYS_MAX_PER_PROJECT=${limit})`;
  return new ConflictException({
    message: `${why}; revoke one it no longer needs (DELETE /v1/keys/:id) before making another`,
    errors: [{ field: 'project', message: why }],
  });
}
