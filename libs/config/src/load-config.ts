import { join, resolve } from 'node:path';
import { EnvSchema, type TrainyardConfig } from './config.schema';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid Trainyard configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; throws one ConfigError listing every wrong setting. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TrainyardConfig {
  // Treat empty strings as unset, as shells and compose files often pass `VAR=`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message} (got ${JSON.stringify(present[String(i.path[0])])})`),
    );
  }
  const e = parsed.data;
  const home = resolve(e.TRAINYARD_HOME);
  return {
    home,
    database: { url: e.DATABASE_URL, embeddedPath: join(home, 'pglite') },
    redis: { url: e.REDIS_URL, connectTimeoutMs: e.REDIS_CONNECT_TIMEOUT_MS },
    queue: { name: e.TRAINYARD_QUEUE },
    storage: e.S3_ENDPOINT
      ? {
          driver: 's3',
          endpoint: e.S3_ENDPOINT,
          accessKey: e.S3_ACCESS_KEY,
          secretKey: e.S3_SECRET_KEY,
          bucket: e.S3_BUCKET,
          region: e.S3_REGION,
        }
      : { driver: 'local', root: join(home, 'objects') },
    api: { host: e.API_HOST, port: e.API_PORT },
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      lockDurationMs: e.WORKER_LOCK_DURATION_MS,
      stalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS,
      maxAttempts: e.WORKER_MAX_ATTEMPTS,
      shutdownTimeoutMs: e.WORKER_SHUTDOWN_TIMEOUT_MS,
      reconcileIntervalMs: e.WORKER_RECONCILE_INTERVAL_MS,
      heartbeatIntervalMs: e.WORKER_HEARTBEAT_INTERVAL_MS,
      lostAfterMs: 3 * e.WORKER_HEARTBEAT_INTERVAL_MS,
    },
    checkpoints: { keepLast: e.CHECKPOINT_KEEP_LAST },
    engine: { backend: e.TRAINYARD_BACKEND },
    log: { level: e.LOG_LEVEL, json: e.LOG_JSON },
  };
}
