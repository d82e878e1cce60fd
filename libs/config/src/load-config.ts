import { join, resolve } from 'node:path';
import { EnvSchema, type TrainyardConfig } from './config.schema';
import { redact, registerSecret } from './redact';

const SECRET_VARS = new Set(['S3_SECRET_KEY', 'TRAINYARD_ADMIN_KEY']);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid Trainyard configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; throws one ConfigError listing every wrong setting. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TrainyardConfig {
  // Treat empty (or blank) strings as unset, as shells and compose files often pass `VAR=` (or
  // `VAR: " "`): a number read from blanks would be 0 (WORKER_METRICS_PORT: a random port).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = EnvSchema.safeParse(present);
  // Every problem in one error, those between settings too: a fix should not reveal the next one.
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => {
        const name = String(i.path[0]);
        // A secret is never echoed, not even a wrong one; a URL loses its password.
        const got = SECRET_VARS.has(name)
          ? `${present[name]?.length ?? 0} characters`
          : redact(JSON.stringify(present[name]));
        return `${i.path.join('.')}: ${i.message} (got ${got})`;
      });
  problems.push(...problemsBetweenSettings(present));
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  registerSecret(e.S3_SECRET_KEY);
  registerSecret(e.TRAINYARD_ADMIN_KEY);
  const home = resolve(e.TRAINYARD_HOME);
  return {
    home,
    database: {
      url: e.DATABASE_URL,
      embeddedPath: join(home, 'pglite'),
      queryTimeoutMs: e.DATABASE_QUERY_TIMEOUT_MS,
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
      poolMax: e.DATABASE_POOL_MAX,
    },
    redis: { url: e.REDIS_URL, connectTimeoutMs: e.REDIS_CONNECT_TIMEOUT_MS },
    queue: { name: e.TRAINYARD_QUEUE },
    storage: e.S3_ENDPOINT
      ? {
          driver: 's3',
          endpoint: e.S3_ENDPOINT,
          accessKey: e.S3_ACCESS_KEY!,
          secretKey: e.S3_SECRET_KEY!,
          bucket: e.S3_BUCKET,
          region: e.S3_REGION,
          connectTimeoutMs: e.S3_CONNECT_TIMEOUT_MS,
          requestTimeoutMs: e.S3_REQUEST_TIMEOUT_MS,
        }
      : { driver: 'local', root: join(home, 'objects') },
    api: {
      host: e.API_HOST,
      port: e.API_PORT,
      allowedHosts: e.API_ALLOWED_HOSTS ?? [],
      corsOrigins: e.API_CORS_ORIGINS ?? [],
      trustProxy: e.API_TRUST_PROXY ?? [],
      metricsPublic: e.METRICS_PUBLIC,
      metricsEndedRunsMaxAgeMs: e.METRICS_ENDED_RUNS_MAX_AGE_MS,
      shutdownTimeoutMs: e.API_SHUTDOWN_TIMEOUT_MS,
      idempotencyKeyRetentionMs: e.IDEMPOTENCY_KEY_RETENTION_MS,
    },
    auth: {
      enabled: e.TRAINYARD_AUTH === 'on',
      adminKey: e.TRAINYARD_ADMIN_KEY,
      outageGraceMs: e.AUTH_OUTAGE_GRACE_MS,
    },
    limits: {
      requestsPerMinute: e.RATE_LIMIT_PER_MINUTE,
      requestsPerMinutePerProject: e.RATE_LIMIT_PER_PROJECT_PER_MINUTE ?? e.RATE_LIMIT_PER_MINUTE * 10,
      queuedRunsPerProject: e.QUOTA_QUEUED_RUNS,
      maxPriority: e.QUOTA_MAX_PRIORITY,
      imagesPerRequest: e.QUOTA_REQUEST_IMAGES,
      modelParameters: e.QUOTA_MODEL_PARAMETERS,
      inMemoryDatasetBytes: e.QUOTA_IN_MEMORY_DATASET_BYTES,
      trainingHoursPerRun: e.QUOTA_RUN_TRAINING_HOURS,
      sseConnectionsPerKey: e.SSE_MAX_PER_KEY,
      sseConnectionsPerProject: e.SSE_MAX_PER_PROJECT ?? Math.max(1, Math.floor(e.SSE_MAX_PER_PROCESS / 4)),
      sseConnectionsPerProcess: e.SSE_MAX_PER_PROCESS,
      liveKeysPerProject: e.API_KEYS_MAX_PER_PROJECT,
      stalledClientMs: e.STALLED_CLIENT_MS,
      requestBodyMs: e.API_REQUEST_BODY_TIMEOUT_MS,
      runningRunsPerProject: e.PROJECT_MAX_RUNNING,
      datasetUploadBytes: e.DATASET_UPLOAD_MAX_BYTES,
      projectUploadBytes: e.QUOTA_PROJECT_UPLOAD_BYTES,
      datasetUploadsPerKey: e.DATASET_UPLOAD_MAX_PER_KEY,
      datasetUploadsPerProcess: e.DATASET_UPLOAD_MAX_PER_PROCESS,
      datasetUploadMinBytesPerSecond: e.DATASET_UPLOAD_MIN_BYTES_PER_SECOND,
      datasetUploadRateWindowMs: e.DATASET_UPLOAD_RATE_WINDOW_MS,
      datasetUploadsPerProject:
        e.DATASET_UPLOAD_MAX_PER_PROJECT ?? Math.max(1, Math.floor(e.DATASET_UPLOAD_MAX_PER_PROCESS / 2)),
      queueUnservable: e.QUEUE_UNSERVABLE_RUNS,
    },
    paths: {
      localRoots: (e.TRAINYARD_LOCAL_ROOTS ?? []).map((root) => resolve(root.path)),
      rootProjects: Object.fromEntries(
        (e.TRAINYARD_LOCAL_ROOTS ?? []).flatMap((root) => (root.project ? [[resolve(root.path), root.project]] : [])),
      ),
      walkMaxFiles: e.FOLDER_WALK_MAX_FILES,
      walkMaxMs: e.FOLDER_WALK_MAX_MS,
    },
    migrations: { onStart: e.MIGRATE_ON_START },
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      resourceClasses: e.WORKER_RESOURCE_CLASSES,
      prestart: e.WORKER_PRESTART,
      shardCacheBytes: e.WORKER_SHARD_CACHE_BYTES,
      imageCacheBytes: e.WORKER_IMAGE_CACHE_BYTES,
      lockDurationMs: e.WORKER_LOCK_DURATION_MS,
      stalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS,
      maxAttempts: e.WORKER_MAX_ATTEMPTS,
      storeOutagePatienceMs: e.WORKER_STORE_OUTAGE_PATIENCE_MS,
      storeWaitFirstMs: e.WORKER_STORE_WAIT_FIRST_MS,
      waitElsewhereMs: e.WORKER_WAIT_ELSEWHERE_MS,
      databaseOutagePatienceMs: e.WORKER_DATABASE_OUTAGE_PATIENCE_MS,
      shutdownTimeoutMs: e.WORKER_SHUTDOWN_TIMEOUT_MS,
      reconcileIntervalMs: e.WORKER_RECONCILE_INTERVAL_MS,
      heartbeatIntervalMs: e.WORKER_HEARTBEAT_INTERVAL_MS,
      childHeartbeatTimeoutMs: e.WORKER_CHILD_HEARTBEAT_TIMEOUT_MS,
      lostAfterMs: 3 * e.WORKER_HEARTBEAT_INTERVAL_MS,
      lostRetireMs: e.WORKER_LOST_RETIRE_MS,
      stoppedRetentionMs: e.WORKER_STOPPED_RETENTION_MS,
      metricCompactAfterMs: e.METRIC_POINTS_COMPACT_AFTER_MS,
      metrics:
        e.WORKER_METRICS_PORT === undefined ? undefined : { host: e.WORKER_METRICS_HOST, port: e.WORKER_METRICS_PORT },
    },
    checkpoints: { keepLast: e.CHECKPOINT_KEEP_LAST },
    engine: { backend: e.TRAINYARD_BACKEND },
    log: { level: e.LOG_LEVEL, json: e.LOG_JSON },
    runLogs: { chunkBytes: e.RUN_LOG_CHUNK_BYTES, flushMs: e.RUN_LOG_FLUSH_MS },
  };
}

/** What no one setting is wrong in, but two together are; each read as the schema reads it, when it reads. */
function problemsBetweenSettings(present: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  if (present['S3_ENDPOINT'] && (!present['S3_ACCESS_KEY'] || !present['S3_SECRET_KEY']))
    problems.push('S3_ACCESS_KEY and S3_SECRET_KEY: required with S3_ENDPOINT (there are no default credentials)');
  const perProject = EnvSchema.shape.SSE_MAX_PER_PROJECT.safeParse(present['SSE_MAX_PER_PROJECT']);
  const perProcess = EnvSchema.shape.SSE_MAX_PER_PROCESS.safeParse(present['SSE_MAX_PER_PROCESS']);
  if (perProject.success && perProcess.success && perProject.data !== undefined && perProject.data >= perProcess.data)
    problems.push(
      `SSE_MAX_PER_PROJECT: must be below SSE_MAX_PER_PROCESS (${perProcess.data}), so one project cannot take every stream place of a process (got ${perProject.data})`,
    );
  return problems;
}
