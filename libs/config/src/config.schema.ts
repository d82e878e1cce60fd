import { isIP } from 'node:net';
import { delimiter, isAbsolute, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { MAX_PRIORITY, ProjectNameSchema } from '@trainyard/contracts';

/**
 * Every setting Trainyard reads from the environment, validated once at boot into typed groups.
 * `ENV_VARS` is the single list of variable names; the README table, docker-compose.yml and its
 * test are checked against it.
 */
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const port = z.coerce.number().int().min(1).max(65535);
/** An address, a CIDR or one of proxy-addr's names for address ranges. */
function isProxyAddress(item: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(item)) return true;
  const [address, bits, ...rest] = item.split('/');
  const family = isIP(address ?? '');
  if (!family || rest.length) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}
/** `a,b , c` → `['a','b','c']`; empty items dropped. */
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);
/**
 * TRAINYARD_LOCAL_ROOTS: absolute folders separated by the platform's path delimiter (`:` here),
 * like PATH, each shared by every project (`/data/shared`) or one project's own (`team-a=/data/team-a`).
 */
const localRoots = z
  .string()
  .transform((v) =>
    v
      .split(delimiter)
      .map((item) => item.trim())
      .filter(Boolean)
      .map((item) => {
        const owned = /^([^/=]+)=(.*)$/.exec(item);
        return owned ? { project: owned[1]!, path: owned[2]! } : { project: null, path: item };
      }),
  )
  .pipe(
    z.array(
      z.object({
        project: ProjectNameSchema.nullable(),
        path: z.string().refine((path) => isAbsolute(path), 'every root must be an absolute path'),
      }),
    ),
  )
  .superRefine((roots, ctx) => {
    // A project's own root inside another root (or holding one) would be read through that one.
    const owned = roots.filter((root) => root.project !== null);
    for (const mine of owned)
      for (const other of roots)
        if (other !== mine && (within(other.path, mine.path) || within(mine.path, other.path)))
          ctx.addIssue({
            code: 'custom',
            message: `${mine.project}'s root ${mine.path} may neither lie in nor hold another root (${other.path})`,
          });
  });

/** Whether `target` is `folder` or lies in it, segment by segment (`/data2` is not in `/data`). */
function within(folder: string, target: string): boolean {
  const rel = relative(resolve(folder), resolve(target));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** WORKER_CHILD_HEARTBEAT_TIMEOUT_MS unset; also what a training process started without one is given. */
export const CHILD_HEARTBEAT_TIMEOUT_DEFAULT_MS = 300_000;

/** WORKER_IMAGE_CACHE_BYTES unset; also the cap of an ImageCache made without one (libs/datasets). */
export const DEFAULT_IMAGE_CACHE_BYTES = 10 * 1024 ** 3;
/** WORKER_SHARD_CACHE_BYTES's default: the shard cache a worker (or a training process given none) keeps. */
export const DEFAULT_SHARD_CACHE_BYTES = 10 * 1024 ** 3;

/** S3_CONNECT_TIMEOUT_MS unset; also what an S3ObjectStore made without one is given (libs/storage). */
export const S3_CONNECT_TIMEOUT_DEFAULT_MS = 10_000;

/** S3_REQUEST_TIMEOUT_MS unset; also what an S3ObjectStore made without one is given (libs/storage). */
export const S3_REQUEST_TIMEOUT_DEFAULT_MS = 60_000;

/** WORKER_STORE_WAIT_FIRST_MS unset: a run's first wait for an unreachable object store. */
export const STORE_WAIT_FIRST_DEFAULT_MS = 10_000;
/** The longest a run's wait for an unreachable object store grows to (each doubles the one before). */
export const STORE_WAIT_MAX_MS = 120_000;

/** WORKER_WAIT_ELSEWHERE_MS unset: how long a job a worker gives back (it cannot hold it) waits. */
export const WAIT_ELSEWHERE_DEFAULT_MS = 5000;

export const EnvSchema = z.object({
  TRAINYARD_HOME: z.string().min(1).default('.trainyard'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** The most one PostgreSQL statement may take (the server cancels it; the client gives up on a silent server). */
  DATABASE_QUERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /** The most a query may wait for a PostgreSQL connection: a new one, or a turn in the pool. */
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /**
   * PostgreSQL connections one process holds at most (its pool; the migrator's one at start comes on
   * top). Every API and worker process holds its own: a fleet's sum must stay under the server's
   * max_connections. At least 2: a transaction holds one while its caller may read beside it.
   */
  DATABASE_POOL_MAX: z.coerce.number().int().min(2).max(1000).default(10),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  /** Name of the BullMQ training queue; give each environment (or test suite) sharing a Redis its own. */
  TRAINYARD_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, 'letters, digits, "-" and "_" only')
    .default('trainyard-training'),
  REDIS_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(5000),
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  /** No default: credentials are given on purpose (docker-compose.yml sets its local MinIO's). */
  S3_ACCESS_KEY: z.string().optional(),
  S3_SECRET_KEY: z.string().optional(),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name')
    .default('trainyard'),
  S3_REGION: z.string().default('us-east-1'),
  /** The most an S3 connection may take to open; the request is then retried on a new one. */
  S3_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(S3_CONNECT_TIMEOUT_DEFAULT_MS),
  /**
   * The most an S3 request may go without a byte moving either way (waiting for an answer, or mid-body);
   * no bound on the whole request, so a large transfer that keeps moving is never cut.
   */
  S3_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(S3_REQUEST_TIMEOUT_DEFAULT_MS),
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port.default(3000),
  /** Jobs one worker trains at once; unset: one per GPU on a worker whose backend is tensorflow-gpu, otherwise 1. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  /**
   * The resource classes whose queues a worker consumes (any, cpu, gpu; comma-separated); unset:
   * gpu and any on a worker with GPUs, cpu and any without.
   */
  WORKER_RESOURCE_CLASSES: z
    .string()
    .transform((v) => [...new Set(v.split(',').map((s) => s.trim()))])
    .pipe(z.array(z.enum(['any', 'cpu', 'gpu'])).min(1))
    .optional(),
  /**
   * Keep a training process started, TensorFlow.js and its backend loaded, for every idle training
   * slot, so a job's attempt skips that start (still one process per attempt).
   */
  WORKER_PRESTART: bool.default(true),
  /**
   * Size cap of a node's shard cache for streamed (packed) datasets, in the image cache's folder
   * ($TRAINYARD_HOME/cache/images/packed-shards, which the image cache leaves alone) with a cap of
   * its own; the least recently used shards go past it. Shared by the node's workers.
   */
  WORKER_SHARD_CACHE_BYTES: z.coerce.number().int().min(0).default(DEFAULT_SHARD_CACHE_BYTES),
  /**
   * Size cap of a node's decoded-image cache ($TRAINYARD_HOME/cache/images, image folders loaded
   * whole; the shard cache in its packed-shards folder has its own); the least recently used images go past it.
   * Shared by the node's workers. 0: nothing is cached.
   */
  WORKER_IMAGE_CACHE_BYTES: z.coerce.number().int().min(0).default(DEFAULT_IMAGE_CACHE_BYTES),
  /** Runs of one project training at once across the fleet; unset: no limit. */
  PROJECT_MAX_RUNNING: z.coerce.number().int().min(1).max(100_000).optional(),
  /**
   * `true`: accept a run no live worker could serve (its class, or memoryGb) and let it wait for
   * one; by default such a submit is answered 422. With no live worker at all runs always wait.
   */
  QUEUE_UNSERVABLE_RUNS: bool.default(false),
  WORKER_LOCK_DURATION_MS: z.coerce.number().int().min(500).max(600000).default(30000),
  WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().min(100).max(600000).default(30000),
  WORKER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  /**
   * How long a job waits in BullMQ's delayed set once a worker gave it back, for lack of the memory
   * it asks for or for a worker of another backend that can hold it, before any worker takes it again.
   */
  WORKER_WAIT_ELSEWHERE_MS: z.coerce.number().int().min(100).max(600_000).default(WAIT_ELSEWHERE_DEFAULT_MS),
  /**
   * How long a run waits for an object store it cannot reach (its attempts given back with a
   * growing delay, none counted against WORKER_MAX_ATTEMPTS) before such failures count as any
   * other; 0: they count at once.
   */
  WORKER_STORE_OUTAGE_PATIENCE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3_600_000)
    .default(30 * 60_000),
  /**
   * A run's first wait for an object store it cannot reach; each next one doubles, up to
   * STORE_WAIT_MAX_MS. Shorter than the default only where an outage is brief by design (the tests').
   */
  WORKER_STORE_WAIT_FIRST_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(STORE_WAIT_MAX_MS)
    .default(STORE_WAIT_FIRST_DEFAULT_MS),
  /**
   * How long a worker's writes and reads for its trainings wait for a PostgreSQL they cannot reach
   * (a restart, a failover) before the attempt fails as any other; 0: about 3 s of retries.
   */
  WORKER_DATABASE_OUTAGE_PATIENCE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(24 * 3_600_000)
    .default(120_000),
  WORKER_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600000).default(30000),
  /** How often a worker records that it is alive; one silent for three intervals is taken for dead. */
  WORKER_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).max(600000).default(10000),
  /**
   * A worker lost this long (past its three silent intervals) is recorded as stopped, reason
   * `lost`, by the live workers' reconciler: `trainyard_workers{state="lost"}` then counts only
   * workers lost recently, rather than every worker ever killed.
   */
  WORKER_LOST_RETIRE_MS: z.coerce.number().int().min(0).max(86_400_000).default(600_000),
  /**
   * A worker stopped this long ago is forgotten: its row is deleted as a worker starts (every start
   * adds one), and its ended attempts keep their outcome but no longer name it. Autoscaled and spot
   * fleets start hundreds of workers a day; kept forever, their rows slowed every submit's check for
   * a live worker. At least an hour, so a retired-as-lost worker that heartbeats again soon finds its row.
   */
  WORKER_STOPPED_RETENTION_MS: z.coerce
    .number()
    .int()
    .min(3_600_000)
    .max(10 * 365 * 86_400_000)
    .default(30 * 86_400_000),
  /**
   * An ended run's metric points are compacted this long after it ended, by the live workers'
   * reconciler: of every 256-step block of a series only the points at its first, min, max and
   * last step stay (summaries, sorts and downsampled charts unchanged; a raw read returns fewer
   * points). 0: never. Otherwise at least an hour, so nothing still writing a run's last points
   * (a worker's retries after it ended) meets its compaction.
   */
  METRIC_POINTS_COMPACT_AFTER_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(10 * 365 * 86_400_000)
    .refine((ms) => ms === 0 || ms >= 3_600_000, 'must be 0 (never compact) or at least 3600000 (an hour)')
    .default(30 * 86_400_000),
  /**
   * A training process (or the device probe) that sends nothing for this long is killed with SIGKILL
   * and its attempt retried. It must outlast the longest stretch with no batch boundary: one batch,
   * one validation pass or the final evaluation of the largest model on the slowest backend.
   */
  WORKER_CHILD_HEARTBEAT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .max(3_600_000)
    .default(CHILD_HEARTBEAT_TIMEOUT_DEFAULT_MS),
  /** Port of the worker's own Prometheus /metrics server; unset: none (several workers may share a host). */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Where that server listens; 0.0.0.0 inside a container or pod so Prometheus can reach it. */
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** How often a worker makes the database and the queue agree (one worker at a time, under a Redis lock). */
  WORKER_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(500).max(3600000).default(60000),
  /** Checkpoints kept per run besides the best one and any a fine-tune uses as its base. */
  CHECKPOINT_KEEP_LAST: z.coerce.number().int().min(1).max(1000).default(3),
  TRAINYARD_BACKEND: z.enum(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).optional(),
  /** `off` only on purpose: the API refuses it unless it listens on loopback, and warns at start. */
  TRAINYARD_AUTH: z.enum(['on', 'off']).default('on'),
  /**
   * While PostgreSQL cannot answer (an error or a timeout, not a refusal), a key this process
   * proved live within this long is still accepted, for what can be served without the database
   * (the metrics' Redis gauges; everything else answers 503 anyway). 0: refuse every key whose
   * 5-second proof has lapsed (a 503), as a database that answered would decide.
   */
  AUTH_OUTAGE_GRACE_MS: z.coerce.number().int().min(0).max(86_400_000).default(600_000),
  /** A first admin key (≥ 32 characters), provisioned at start, stored hashed, never logged. */
  TRAINYARD_ADMIN_KEY: z.string().min(32, 'must be at least 32 characters').max(512).optional(),
  /** Host names the API answers to when it listens beyond loopback (DNS-rebinding guard). */
  API_ALLOWED_HOSTS: list.optional(),
  /** Origins allowed cross-site (CORS); none by default. */
  API_CORS_ORIGINS: list.optional(),
  /**
   * Proxies whose X-Forwarded-For is believed, so rate limits count the client's address rather
   * than the ingress's: addresses or CIDRs, or loopback / linklocal / uniquelocal. None by default.
   */
  API_TRUST_PROXY: list
    .refine(
      (items) => items.every(isProxyAddress),
      'Expected addresses, CIDRs (10.0.0.0/8) or loopback, linklocal, uniquelocal, comma-separated',
    )
    .optional(),
  /** Serve GET /metrics without a key (for a Prometheus on a private network). */
  METRICS_PUBLIC: bool.default(false),
  /**
   * How often each API process recounts every ended run (SUCCEEDED, FAILED, CANCELLED) for
   * `trainyard_runs`, which reads the whole table in effect (0.1–0.3 s at 200,000 runs): a base of
   * those ended 5 minutes before it, to which every scrape adds the runs ended since through the
   * `ended_at` index, so a run that ends is in its ended status at the next scrape. 0: at every scrape.
   */
  METRICS_ENDED_RUNS_MAX_AGE_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  /** Requests per minute per key, counted in Redis so every API replica shares the budget. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  /**
   * Requests per minute of one project's keys together (default ten times RATE_LIMIT_PER_MINUTE),
   * beside each key's own: a project's keys cannot multiply its share. Operators' keys are not counted.
   */
  RATE_LIMIT_PER_PROJECT_PER_MINUTE: z.coerce.number().int().min(1).max(100_000_000).optional(),
  /**
   * Live (unrevoked) API keys a project may hold at once: every per-key budget (requests, streams)
   * is multiplied by the keys a project's admin can mint. Keys without a project are not counted.
   */
  API_KEYS_MAX_PER_PROJECT: z.coerce.number().int().min(1).max(1_000_000).default(100),
  /** Runs a project may have waiting (QUEUED or PREEMPTED) at once. */
  QUOTA_QUEUED_RUNS: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  /**
   * The highest `priority` a spec may name (0–100; 100, the contracts' own ceiling: no cap), in
   * projects without a cap of their own: a shared fleet keeps the top of the queue for its operators.
   */
  QUOTA_MAX_PRIORITY: z.coerce.number().int().min(0).max(MAX_PRIORITY).default(MAX_PRIORITY),
  /** Images one request may ask to train on in all (epochs × training images, summed over a sweep or pipeline). */
  QUOTA_REQUEST_IMAGES: z.coerce.number().int().min(1).default(500_000_000),
  /**
   * Parameters the model a spec builds may hold, its own topologies and the built-in models alike
   * (the contracts' ceiling is 100,000,000): the API checks it at submit, the workers a fine-tune's
   * head on a base only the training process reads (set the same value on both).
   */
  QUOTA_MODEL_PARAMETERS: z.coerce.number().int().min(1).max(100_000_000).default(10_000_000),
  /**
   * Bytes of decoded images one image-folder run may hold in a worker's memory: a folder loaded
   * whole at its peak (9 bytes per pixel), or a streamed version's holdouts and sample.
   */
  QUOTA_IN_MEMORY_DATASET_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(4 * 1024 ** 3),
  /**
   * Hours of training a run may use over all its attempts (a week by default); past it, the run is
   * stopped at its next batch, its position checkpointed, and FAILED without retry.
   */
  QUOTA_RUN_TRAINING_HOURS: z.coerce.number().positive().max(8760).default(168),
  /** Bytes one dataset upload (POST /v1/datasets/uploads, a tar) may carry. */
  DATASET_UPLOAD_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(2 * 1024 ** 3),
  /**
   * Bytes of uploaded images one project may hold in the store, its datasets uploaded through the
   * API together (413 naming it beyond): without it one project's key filled the shared bucket,
   * 2 GiB at a time. Folders registered by path or prefix are the project's own storage, not counted.
   */
  QUOTA_PROJECT_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(Number.MAX_SAFE_INTEGER)
    .default(50 * 1024 ** 3),
  /**
   * Dataset uploads open at once per key, and per API process (429 beyond). Each open upload holds
   * at most one image part (5 MiB) of memory on its way to the store, and a share of a core.
   */
  DATASET_UPLOAD_MAX_PER_KEY: z.coerce.number().int().min(1).max(1000).default(2),
  DATASET_UPLOAD_MAX_PER_PROCESS: z.coerce.number().int().min(1).max(1000).default(4),
  /** Dataset uploads the keys of one project may hold open at once in one API process; unset: half of DATASET_UPLOAD_MAX_PER_PROCESS. */
  DATASET_UPLOAD_MAX_PER_PROJECT: z.coerce.number().int().min(1).max(1000).optional(),
  /**
   * The slowest a dataset upload's body may arrive, averaged over the last
   * DATASET_UPLOAD_RATE_WINDOW_MS the API waited for it (and never judged before one whole window):
   * a client trickling a byte just under every STALLED_CLIENT_MS would hold an upload's place for
   * good. Judged only while another upload was refused the place it holds within the last window
   * (the process's, or its project's): alone, a slow link may take its time. 0: no floor.
   */
  DATASET_UPLOAD_MIN_BYTES_PER_SECOND: z.coerce
    .number()
    .int()
    .min(0)
    .max(1024 ** 3)
    .default(64 * 1024),
  /** The window DATASET_UPLOAD_MIN_BYTES_PER_SECOND is averaged over, and the grace an upload has before it is first judged. */
  DATASET_UPLOAD_RATE_WINDOW_MS: z.coerce.number().int().min(1000).max(3_600_000).default(30_000),
  /** Live event streams (SSE) open at once per key, and per API process. */
  SSE_MAX_PER_KEY: z.coerce.number().int().min(1).max(100_000).default(20),
  SSE_MAX_PER_PROCESS: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  /**
   * Live event streams the keys of one project may hold open at once in one API process, below
   * SSE_MAX_PER_PROCESS so no project takes every place; unset: a quarter of SSE_MAX_PER_PROCESS.
   */
  SSE_MAX_PER_PROJECT: z.coerce.number().int().min(1).max(1_000_000).optional(),
  /** A long answer (a followed log, an event stream, all of a run's points, a download) whose client took none of its bytes for this long is ended. */
  STALLED_CLIENT_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /**
   * The most a request's body may take to arrive, for every route but a dataset upload (which may
   * take as long as it keeps sending: STALLED_CLIENT_MS, DATASET_UPLOAD_MIN_BYTES_PER_SECOND): Node's own requestTimeout, which would
   * cut a 2 GiB upload after 5 minutes, is off.
   */
  API_REQUEST_BODY_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(300_000),
  /**
   * How long the API, stopped (SIGTERM, SIGINT), waits for its requests in flight and for closing its
   * connections before it exits anyway: a PostgreSQL that does not answer held it until pg gave up
   * the request's query (DATABASE_QUERY_TIMEOUT_MS) and then its pool, past the platform's grace period.
   */
  API_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(8000),
  /**
   * How long a POST /v1/runs Idempotency-Key is kept: a retry within it gets the first response,
   * after it may create a new run. The client and the CLI send a key with every submit, so the keys
   * were a row for every run ever submitted; a keyed submit now deletes a few past this age.
   */
  IDEMPOTENCY_KEY_RETENTION_MS: z.coerce
    .number()
    .int()
    .min(3_600_000)
    .max(10 * 365 * 86_400_000)
    .default(7 * 86_400_000),
  /** Folders under which local datasets and `file://` models may be read; none by default. */
  TRAINYARD_LOCAL_ROOTS: localRoots.optional(),
  /** Bounds of one folder walk (dataset registration, loading): files seen and time. */
  FOLDER_WALK_MAX_FILES: z.coerce.number().int().min(1).max(100_000_000).default(1_000_000),
  FOLDER_WALK_MAX_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /** Apply migrations at start (default); `false` for fleets that run `npm run migrate` as a step. */
  MIGRATE_ON_START: bool.default(true),
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
  LOG_JSON: bool.default(false),
  /** A run's log is stored in chunks of at most this many bytes; a full chunk is closed and the next begun. */
  RUN_LOG_CHUNK_BYTES: z.coerce
    .number()
    .int()
    .min(4096)
    .max(16 * 1024 * 1024)
    .default(256 * 1024),
  /** How often a worker writes a running attempt's new log lines to the object store. */
  RUN_LOG_FLUSH_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
});

export type Env = z.infer<typeof EnvSchema>;
export const ENV_VARS = Object.keys(EnvSchema.shape) as (keyof Env)[];

export interface TrainyardConfig {
  home: string;
  database: { url?: string; embeddedPath: string; queryTimeoutMs: number; connectTimeoutMs: number; poolMax: number };
  redis: { url: string; connectTimeoutMs: number };
  queue: { name: string };
  storage:
    | {
        driver: 's3';
        endpoint: string;
        accessKey: string;
        secretKey: string;
        bucket: string;
        region: string;
        /** S3_CONNECT_TIMEOUT_MS; unset: S3_CONNECT_TIMEOUT_DEFAULT_MS. */
        connectTimeoutMs?: number;
        /** S3_REQUEST_TIMEOUT_MS (no byte moving for this long); unset: S3_REQUEST_TIMEOUT_DEFAULT_MS. */
        requestTimeoutMs?: number;
      }
    | { driver: 'local'; root: string };
  api: {
    host: string;
    port: number;
    /** Host names accepted in `Host:` when listening beyond loopback; empty = only the listen address. */
    allowedHosts: string[];
    corsOrigins: string[];
    /** Proxies whose X-Forwarded-For names the client (express's `trust proxy`); empty = the socket's peer is the client. */
    trustProxy: string[];
    metricsPublic: boolean;
    /** METRICS_ENDED_RUNS_MAX_AGE_MS: how often `trainyard_runs` recounts every ended run, the base it adds those ended since to (0: at every scrape). */
    metricsEndedRunsMaxAgeMs: number;
    /** API_SHUTDOWN_TIMEOUT_MS: how long a stopping API waits for its requests in flight and its connections' close. */
    shutdownTimeoutMs: number;
    /** IDEMPOTENCY_KEY_RETENTION_MS: how long a submit's Idempotency-Key is kept before a later keyed submit deletes it. */
    idempotencyKeyRetentionMs: number;
  };
  auth: {
    enabled: boolean;
    adminKey?: string;
    /** AUTH_OUTAGE_GRACE_MS: how long a proven key outlives its proof while the database cannot answer. */
    outageGraceMs: number;
  };
  limits: {
    requestsPerMinute: number;
    /** RATE_LIMIT_PER_PROJECT_PER_MINUTE (or its default): requests of one project's keys together. */
    requestsPerMinutePerProject: number;
    queuedRunsPerProject: number;
    imagesPerRequest: number;
    /** Parameters of a spec's own topologies (QUOTA_MODEL_PARAMETERS); read by the API and the workers. */
    modelParameters: number;
    /** Bytes of decoded images one image-folder run may hold in a worker's memory (QUOTA_IN_MEMORY_DATASET_BYTES). */
    inMemoryDatasetBytes: number;
    /** Hours of training a run may use over its attempts (QUOTA_RUN_TRAINING_HOURS). */
    trainingHoursPerRun: number;
    sseConnectionsPerKey: number;
    /** SSE_MAX_PER_PROJECT (or its default): streams of one project's keys, per API process; operators' keys are not counted. */
    sseConnectionsPerProject: number;
    sseConnectionsPerProcess: number;
    /** API_KEYS_MAX_PER_PROJECT: live keys one project may hold; operators' keys (no project) are not counted. */
    liveKeysPerProject: number;
    /** STALLED_CLIENT_MS: how long a long answer waits for a client that takes none of its bytes. */
    stalledClientMs: number;
    /** API_REQUEST_BODY_TIMEOUT_MS: how long a request body (a dataset upload's aside) may take to arrive. */
    requestBodyMs: number;
    /** Bytes one dataset upload may carry (DATASET_UPLOAD_MAX_BYTES). */
    datasetUploadBytes: number;
    /** Bytes of uploaded images one project may hold (QUOTA_PROJECT_UPLOAD_BYTES). */
    projectUploadBytes: number;
    /** Dataset uploads open at once per key (DATASET_UPLOAD_MAX_PER_KEY) and per API process (DATASET_UPLOAD_MAX_PER_PROCESS). */
    datasetUploadsPerKey: number;
    datasetUploadsPerProcess: number;
    /** DATASET_UPLOAD_MIN_BYTES_PER_SECOND (0: off), averaged over DATASET_UPLOAD_RATE_WINDOW_MS of waiting for the client. */
    datasetUploadMinBytesPerSecond: number;
    datasetUploadRateWindowMs: number;
    /** DATASET_UPLOAD_MAX_PER_PROJECT (or its default): one project's uploads together, per API process; operators' keys are not counted. */
    datasetUploadsPerProject: number;
    /** Runs of one project training at once (PROJECT_MAX_RUNNING); undefined: no limit. */
    runningRunsPerProject?: number;
    /** The highest priority a spec may name in a project without a cap of its own (QUOTA_MAX_PRIORITY). */
    maxPriority: number;
    /** Accept runs no live worker can serve (QUEUE_UNSERVABLE_RUNS) instead of answering 422. */
    queueUnservable: boolean;
  };
  /** Local-path and file:// reads: only under these real paths; folder walks bounded. */
  paths: {
    /** Every root, shared or a project's own: what a worker and the tools may read under. */
    localRoots: string[];
    /** The roots that are one project's own (TRAINYARD_LOCAL_ROOTS `project=/path`), by path: see localRootsFor. */
    rootProjects?: Record<string, string>;
    walkMaxFiles: number;
    walkMaxMs: number;
  };
  migrations: { onStart: boolean };
  worker: {
    /** Set by WORKER_CONCURRENCY; undefined: the worker decides from its devices at start (one per GPU). */
    concurrency?: number;
    /** Set by WORKER_RESOURCE_CLASSES; undefined: decided from the devices (gpu + any, or cpu + any). */
    resourceClasses?: ('any' | 'cpu' | 'gpu')[];
    /** WORKER_PRESTART: a training process waits, loaded, in every idle slot. */
    prestart: boolean;
    /** WORKER_SHARD_CACHE_BYTES: the node's shard cache cap for streamed datasets. */
    shardCacheBytes: number;
    /** WORKER_IMAGE_CACHE_BYTES: the node's decoded-image cache cap for image folders loaded whole. */
    imageCacheBytes: number;
    lockDurationMs: number;
    stalledIntervalMs: number;
    maxAttempts: number;
    /** WORKER_STORE_OUTAGE_PATIENCE_MS: how long a run waits for an unreachable object store. */
    storeOutagePatienceMs: number;
    /** WORKER_STORE_WAIT_FIRST_MS: a run's first wait for an unreachable object store (each next doubles). */
    storeWaitFirstMs: number;
    /** WORKER_WAIT_ELSEWHERE_MS: how long a job this worker gave back waits before it is taken again. */
    waitElsewhereMs: number;
    /** WORKER_DATABASE_OUTAGE_PATIENCE_MS: how long a training's database calls wait for an unreachable PostgreSQL. */
    databaseOutagePatienceMs: number;
    shutdownTimeoutMs: number;
    reconcileIntervalMs: number;
    heartbeatIntervalMs: number;
    /** A training process or the device probe silent this long is killed (SIGKILL). */
    childHeartbeatTimeoutMs: number;
    /** A worker whose last heartbeat is older than this is dead: its RUNNING runs may be taken over. */
    lostAfterMs: number;
    /** WORKER_LOST_RETIRE_MS: how long a worker stays lost before it is recorded as stopped (reason `lost`). */
    lostRetireMs: number;
    /** WORKER_STOPPED_RETENTION_MS: how long a stopped worker's row is kept before a starting worker deletes it. */
    stoppedRetentionMs: number;
    /** METRIC_POINTS_COMPACT_AFTER_MS: how long after a run ended the reconciler compacts its metric points (0: never). */
    metricCompactAfterMs: number;
    /** The worker's own /metrics server; absent when WORKER_METRICS_PORT is unset (port 0: any free port). */
    metrics?: { host: string; port: number };
  };
  checkpoints: { keepLast: number };
  engine: { backend?: Env['TRAINYARD_BACKEND'] };
  log: { level: Env['LOG_LEVEL']; json: boolean };
  /** Per-run logs in the object store: chunk size cap and how often new lines are written. */
  runLogs: { chunkBytes: number; flushMs: number };
}

/**
 * The local roots a project may register datasets and import models under: the shared ones and
 * its own, never another project's (TRAINYARD_LOCAL_ROOTS `project=/path`).
 */
export function localRootsFor(
  paths: Pick<TrainyardConfig['paths'], 'localRoots' | 'rootProjects'>,
  project: string,
): string[] {
  return paths.localRoots.filter((root) => {
    const owner = paths.rootProjects?.[root];
    return owner === undefined || owner === project;
  });
}
