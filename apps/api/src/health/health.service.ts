import { Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { DependencyCheck, DependencyFailure, Readiness } from '@trainyard/contracts';
import { isConnectionError, isTooManyConnections, type Database } from '@trainyard/db';
import type { ObjectStore } from '@trainyard/storage';
import type { Redis } from 'ioredis';
import { withDeadline } from '../common/with-deadline';
import { CONFIG, DATABASE, OBJECT_STORE, REDIS } from '@trainyard/infrastructure';

type Dependency = keyof Readiness['checks'];

/** ioredis's and the S3 client's words for a connection refused, lost or never made (pg's: isConnectionError). */
const UNREACHABLE =
  /Connection is closed|Stream isn't writeable|max retries per request|ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|EPIPE|ETIMEDOUT|socket hang up/i;

/**
 * `/readyz` is public (kubelet probes send no key), so a failed check says only which dependency
 * and, in a few words, why; the dependency's own error (a server's address, a driver's message)
 * goes to the log, once each time a dependency's state changes rather than at every probe.
 */
@Injectable()
export class HealthService {
  private readonly logger = new Logger(HealthService.name);
  /** The last state logged per dependency: 'ok' or the reason it failed. */
  private readonly states = new Map<Dependency, 'ok' | DependencyFailure>();

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
      this.check('redis', () => this.redis.ping(), deadline),
      this.check('database', () => this.database.ping(), deadline),
      this.check('objectStore', () => this.store.ping(), deadline),
    ]);
    const ok = redis.ok && database.ok && objectStore.ok;
    return { status: ok ? 'ok' : 'unavailable', checks: { redis, database, objectStore } };
  }

  private async check(name: Dependency, probe: () => Promise<unknown>, deadlineMs: number): Promise<DependencyCheck> {
    const started = Date.now();
    const timedOut: DependencyFailure = `timed out after ${deadlineMs} ms`;
    try {
      await withDeadline(probe(), deadlineMs, timedOut);
      this.changed(name, 'ok');
      return { ok: true, ms: Date.now() - started };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const reason: DependencyFailure =
        error.message === timedOut
          ? timedOut
          : isTooManyConnections(error)
            ? 'full'
            : isConnectionError(error) || UNREACHABLE.test(`${error.name} ${error.message}`)
              ? 'unreachable'
              : 'failed';
      this.changed(name, reason, error);
      return { ok: false, ms: Date.now() - started, error: reason };
    }
  }

  private changed(name: Dependency, state: 'ok' | DependencyFailure, error?: Error): void {
    const last = this.states.get(name) ?? 'ok';
    this.states.set(name, state);
    if (state === last) return;
    if (state === 'ok') this.logger.log(`readiness: ${name} answers again`);
    else this.logger.error(`readiness: ${name} ${state}: ${error?.message ?? state}`);
  }
}
