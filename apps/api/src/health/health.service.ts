import { Inject, Injectable } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { DependencyCheck, Readiness } from '@trainyard/contracts';
import type { Database } from '@trainyard/db';
import type { ObjectStore } from '@trainyard/storage';
import type { Redis } from 'ioredis';
import { withDeadline } from '../common/with-deadline';
import { CONFIG, DATABASE, OBJECT_STORE, REDIS } from '@trainyard/infrastructure';

@Injectable()
export class HealthService {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(DATABASE) private readonly database: Database,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  /** Checks run in parallel, each with a deadline, so a hung dependency cannot hang the probe. */
  async readiness(): Promise<Readiness> {
    const deadline = this.config.redis.connectTimeoutMs;
    const [redis, database, objectStore] = await Promise.all([
      check(() => this.redis.ping(), deadline),
      check(() => this.database.ping(), deadline),
      check(() => this.store.ping(), deadline),
    ]);
    const ok = redis.ok && database.ok && objectStore.ok;
    return { status: ok ? 'ok' : 'unavailable', checks: { redis, database, objectStore } };
  }
}

async function check(probe: () => Promise<unknown>, deadlineMs: number): Promise<DependencyCheck> {
  const started = Date.now();
  try {
    await withDeadline(probe(), deadlineMs, `no answer within ${deadlineMs} ms`);
    return { ok: true, ms: Date.now() - started };
  } catch (err) {
    return { ok: false, ms: Date.now() - started, error: (err as Error).message || String(err) };
  }
}
