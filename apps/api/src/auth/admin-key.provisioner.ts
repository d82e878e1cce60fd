import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { ApiKeysRepository } from '@trainyard/db';
import { CONFIG } from '@trainyard/infrastructure';

/**
 * TRAINYARD_ADMIN_KEY, when set, exists as an admin key from the first start on: stored hashed,
 * never logged (the log names only its id). Revoking it through the API sticks.
 */
@Injectable()
export class AdminKeyProvisioner implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly keys: ApiKeysRepository,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.auth.enabled) {
      this.logger.warn(
        'TRAINYARD_AUTH=off: every request acts as an admin of every project. Allowed only while the API listens on loopback; never expose it.',
      );
      return;
    }
    const token = this.config.auth.adminKey;
    if (!token) return;
    const key = await this.keys.ensure(token, {
      name: 'admin (TRAINYARD_ADMIN_KEY)',
      scopes: ['admin'],
      project: null,
    });
    if (key.revokedAt) this.logger.warn(`TRAINYARD_ADMIN_KEY is key ${key.id}, which was revoked: it opens nothing`);
    else this.logger.log(`Admin key from TRAINYARD_ADMIN_KEY is key ${key.id}`);
  }
}
