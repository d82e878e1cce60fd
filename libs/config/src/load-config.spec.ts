import { localRootsFor } from './config.schema';
import { ConfigError, loadConfig } from './load-config';
import { logLevelsUpTo } from './log-levels';

describe('loadConfig', () => {
  it('gives a working local setup with no variables at all', () => {
    const config = loadConfig({});
    expect(config.database.url).toBeUndefined();
    expect(config.database.embeddedPath).toMatch(/\.trainyard[/\\]pglite$/);
    expect(config.storage).toEqual({ driver: 'local', root: expect.stringMatching(/\.trainyard[/\\]objects$/) });
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.queue.name).toBe('trainyard-training');
    // Unset: the worker takes one job per GPU it finds, or one without a GPU backend.
    expect(config.worker.concurrency).toBeUndefined();
    expect(config.worker.childHeartbeatTimeoutMs).toBe(300_000);
  });

  it('switches to S3 and PostgreSQL when their variables are set', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/trainyard',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_ACCESS_KEY: 'trainyard',
      S3_SECRET_KEY: 'a-secret-of-some-length',
      S3_BUCKET: 'runs',
      WORKER_CONCURRENCY: '4',
    });
    expect(config.database.url).toBe('postgresql://postgres@127.0.0.1:5432/trainyard');
    expect(config.storage).toMatchObject({ driver: 's3', endpoint: 'http://127.0.0.1:9000', bucket: 'runs' });
    expect(config.worker.concurrency).toBe(4);
  });

  it('bounds every PostgreSQL statement and every wait for a connection, 30 s and 10 s unless set', () => {
    expect(loadConfig({}).database).toMatchObject({ queryTimeoutMs: 30_000, connectTimeoutMs: 10_000 });
    const set = loadConfig({ DATABASE_QUERY_TIMEOUT_MS: '120000', DATABASE_CONNECT_TIMEOUT_MS: '2500' });
    expect(set.database).toMatchObject({ queryTimeoutMs: 120_000, connectTimeoutMs: 2500 });
    expect(() => loadConfig({ DATABASE_QUERY_TIMEOUT_MS: '0' })).toThrow(/DATABASE_QUERY_TIMEOUT_MS/);
    expect(() => loadConfig({ DATABASE_CONNECT_TIMEOUT_MS: 'soon' })).toThrow(/DATABASE_CONNECT_TIMEOUT_MS/);
  });

  it('holds 10 PostgreSQL connections a process unless set, from 2 to 1000, naming a wrong setting', () => {
    expect(loadConfig({}).database.poolMax).toBe(10);
    expect(loadConfig({ DATABASE_POOL_MAX: '4' }).database.poolMax).toBe(4);
    for (const bad of ['1', '0', '-3', '2.5', '1001', 'many'])
      expect(() => loadConfig({ DATABASE_POOL_MAX: bad })).toThrow(/DATABASE_POOL_MAX/);
  });

  it('gives a stopping API 8 s to finish its requests unless set, from 1 s to 10 minutes', () => {
    expect(loadConfig({}).api.shutdownTimeoutMs).toBe(8000);
    expect(loadConfig({ API_SHUTDOWN_TIMEOUT_MS: '20000' }).api.shutdownTimeoutMs).toBe(20_000);
    for (const bad of ['999', '600001', 'soon'])
      expect(() => loadConfig({ API_SHUTDOWN_TIMEOUT_MS: bad })).toThrow(/API_SHUTDOWN_TIMEOUT_MS/);
  });

  it('lets a worker wait 2 minutes for an unreachable PostgreSQL unless set, 0 for the old few seconds', () => {
    expect(loadConfig({}).worker.databaseOutagePatienceMs).toBe(120_000);
    expect(loadConfig({ WORKER_DATABASE_OUTAGE_PATIENCE_MS: '0' }).worker.databaseOutagePatienceMs).toBe(0);
    for (const bad of ['-1', 'long', '1.5'])
      expect(() => loadConfig({ WORKER_DATABASE_OUTAGE_PATIENCE_MS: bad })).toThrow(
        /WORKER_DATABASE_OUTAGE_PATIENCE_MS/,
      );
  });

  it("compacts ended runs' metric points 30 days after they ended unless set: 0 for never, else an hour at least", () => {
    expect(loadConfig({}).worker.metricCompactAfterMs).toBe(30 * 86_400_000);
    expect(loadConfig({ METRIC_POINTS_COMPACT_AFTER_MS: '0' }).worker.metricCompactAfterMs).toBe(0);
    expect(loadConfig({ METRIC_POINTS_COMPACT_AFTER_MS: '3600000' }).worker.metricCompactAfterMs).toBe(3_600_000);
    for (const bad of ['1', '3599999', '-1', '1.5', 'soon', String(11 * 365 * 86_400_000)])
      expect(() => loadConfig({ METRIC_POINTS_COMPACT_AFTER_MS: bad })).toThrow(/METRIC_POINTS_COMPACT_AFTER_MS/);
    expect(() => loadConfig({ METRIC_POINTS_COMPACT_AFTER_MS: '60000' })).toThrow(
      /METRIC_POINTS_COMPACT_AFTER_MS.*must be 0 \(never compact\) or at least 3600000/,
    );
  });

  it('caps the priority specs may name at QUOTA_MAX_PRIORITY, 100 (no cap) unless set, from 0 to 100', () => {
    expect(loadConfig({}).limits.maxPriority).toBe(100);
    expect(loadConfig({ QUOTA_MAX_PRIORITY: '0' }).limits.maxPriority).toBe(0);
    expect(loadConfig({ QUOTA_MAX_PRIORITY: '40' }).limits.maxPriority).toBe(40);
    for (const bad of ['-1', '101', '2.5', 'high'])
      expect(() => loadConfig({ QUOTA_MAX_PRIORITY: bad })).toThrow(/QUOTA_MAX_PRIORITY/);
  });

  it('reads the fleet settings: resource classes, prestarting, limits and caches, with their defaults', () => {
    const defaults = loadConfig({});
    expect({
      classes: defaults.worker.resourceClasses,
      prestart: defaults.worker.prestart,
      shardCache: defaults.worker.shardCacheBytes,
      imageCache: defaults.worker.imageCacheBytes,
      running: defaults.limits.runningRunsPerProject,
      unservable: defaults.limits.queueUnservable,
      upload: defaults.limits.datasetUploadBytes,
    }).toEqual({
      classes: undefined,
      prestart: true,
      shardCache: 10 * 1024 ** 3,
      imageCache: 10 * 1024 ** 3,
      running: undefined,
      unservable: false,
      upload: 2 * 1024 ** 3,
    });
    const set = loadConfig({
      WORKER_RESOURCE_CLASSES: 'gpu, any,gpu',
      WORKER_PRESTART: 'false',
      WORKER_SHARD_CACHE_BYTES: '1048576',
      WORKER_IMAGE_CACHE_BYTES: '2097152',
      PROJECT_MAX_RUNNING: '3',
      QUEUE_UNSERVABLE_RUNS: 'true',
      DATASET_UPLOAD_MAX_BYTES: '4096',
    });
    expect([
      set.worker.resourceClasses,
      set.worker.prestart,
      set.worker.shardCacheBytes,
      set.worker.imageCacheBytes,
      set.limits.runningRunsPerProject,
      set.limits.queueUnservable,
      set.limits.datasetUploadBytes,
    ]).toEqual([['gpu', 'any'], false, 1048576, 2097152, 3, true, 4096]);
    expect(() => loadConfig({ WORKER_IMAGE_CACHE_BYTES: '-1' })).toThrow(/WORKER_IMAGE_CACHE_BYTES/);
    expect(() => loadConfig({ WORKER_RESOURCE_CLASSES: 'tpu' })).toThrow(/WORKER_RESOURCE_CLASSES/);
    expect(() => loadConfig({ PROJECT_MAX_RUNNING: '0' })).toThrow(/PROJECT_MAX_RUNNING/);
  });

  it('floors dataset uploads at 64 KiB/s over 30 s by default, 0 turning it off, and names a wrong setting', () => {
    const { datasetUploadMinBytesPerSecond, datasetUploadRateWindowMs } = loadConfig({}).limits;
    expect([datasetUploadMinBytesPerSecond, datasetUploadRateWindowMs]).toEqual([65_536, 30_000]);
    const set = loadConfig({ DATASET_UPLOAD_MIN_BYTES_PER_SECOND: '0', DATASET_UPLOAD_RATE_WINDOW_MS: '5000' }).limits;
    expect([set.datasetUploadMinBytesPerSecond, set.datasetUploadRateWindowMs]).toEqual([0, 5000]);
    for (const wrong of ['-1', '1.5', 'fast'])
      expect(() => loadConfig({ DATASET_UPLOAD_MIN_BYTES_PER_SECOND: wrong })).toThrow(
        /DATASET_UPLOAD_MIN_BYTES_PER_SECOND/,
      );
    expect(() => loadConfig({ DATASET_UPLOAD_RATE_WINDOW_MS: '999' })).toThrow(/DATASET_UPLOAD_RATE_WINDOW_MS/);
  });

  it('lists every wrong setting in one error', () => {
    let error: unknown;
    try {
      loadConfig({ API_PORT: '70000', REDIS_URL: 'http://nope', WORKER_CONCURRENCY: 'many', S3_BUCKET: 'Bad_Bucket' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['API_PORT', 'REDIS_URL', 'WORKER_CONCURRENCY', 'S3_BUCKET']) expect(problems).toContain(name);
    expect((error as ConfigError).problems).toHaveLength(4);
  });

  it('takes a worker for dead after three heartbeat intervals of silence', () => {
    expect(loadConfig({}).worker).toMatchObject({ heartbeatIntervalMs: 10_000, lostAfterMs: 30_000 });
    expect(loadConfig({ WORKER_HEARTBEAT_INTERVAL_MS: '500' }).worker).toMatchObject({
      heartbeatIntervalMs: 500,
      lostAfterMs: 1500,
    });
  });

  it('waits 10 s for an unreachable object store first unless WORKER_STORE_WAIT_FIRST_MS says otherwise', () => {
    expect(loadConfig({}).worker.storeWaitFirstMs).toBe(10_000);
    expect(loadConfig({ WORKER_STORE_WAIT_FIRST_MS: '1500' }).worker.storeWaitFirstMs).toBe(1500);
    for (const bad of ['0', '120001', 'soon'])
      expect(() => loadConfig({ WORKER_STORE_WAIT_FIRST_MS: bad })).toThrow(/WORKER_STORE_WAIT_FIRST_MS/);
  });

  it('gives a job back to wait 5 s elsewhere unless WORKER_WAIT_ELSEWHERE_MS says otherwise', () => {
    expect(loadConfig({}).worker.waitElsewhereMs).toBe(5000);
    expect(loadConfig({ WORKER_WAIT_ELSEWHERE_MS: '1000' }).worker.waitElsewhereMs).toBe(1000);
    for (const bad of ['0', '600001', 'later'])
      expect(() => loadConfig({ WORKER_WAIT_ELSEWHERE_MS: bad })).toThrow(/WORKER_WAIT_ELSEWHERE_MS/);
  });

  it('treats empty and blank variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', S3_ENDPOINT: '' }).storage.driver).toBe('local');
    // Blanks would be read as the number 0: a random metrics port, the image cache off.
    const blank = loadConfig({ WORKER_METRICS_PORT: ' ', WORKER_IMAGE_CACHE_BYTES: '\t ', QUOTA_QUEUED_RUNS: '  ' });
    const defaults = loadConfig({});
    expect(blank.worker.metrics).toEqual(defaults.worker.metrics);
    expect(blank.worker.imageCacheBytes).toBe(defaults.worker.imageCacheBytes);
    expect(blank.limits.queuedRunsPerProject).toBe(defaults.limits.queuedRunsPerProject);
  });
});

describe('logLevelsUpTo', () => {
  it('enables the named level and every more severe one', () => {
    expect(logLevelsUpTo('warn')).toEqual(['error', 'warn']);
    expect(logLevelsUpTo('verbose')).toHaveLength(5);
  });

  it('has no default S3 credentials: S3_ENDPOINT without them is an error naming both', () => {
    expect(() => loadConfig({ S3_ENDPOINT: 'http://127.0.0.1:9000' })).toThrow(
      /S3_ACCESS_KEY and S3_SECRET_KEY: required with S3_ENDPOINT/,
    );
  });

  it('lists the problems between settings beside those of single settings, in one error', () => {
    let problems: string[] = [];
    try {
      loadConfig({ S3_ENDPOINT: 'http://127.0.0.1:9000', API_PORT: 'eighty', SSE_MAX_PER_PROJECT: '5000' });
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([
      expect.stringMatching(/^API_PORT: /),
      'S3_ACCESS_KEY and S3_SECRET_KEY: required with S3_ENDPOINT (there are no default credentials)',
      expect.stringMatching(/^SSE_MAX_PER_PROJECT: must be below SSE_MAX_PER_PROCESS \(1000\)/),
    ]);
  });

  it('never echoes a secret setting or a URL password in its errors', () => {
    let message = '';
    try {
      loadConfig({ TRAINYARD_ADMIN_KEY: 'short-secret', DATABASE_URL: 'mysql://u:hunter2pw@db/x' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('TRAINYARD_ADMIN_KEY');
    expect(message).toContain('12 characters');
    expect(message).not.toContain('short-secret');
    expect(message).not.toContain('hunter2pw');
  });

  it('reads auth, limits and local roots, with safe defaults', () => {
    const defaults = loadConfig({});
    expect(defaults.auth).toEqual({ enabled: true, adminKey: undefined, outageGraceMs: 600_000 });
    expect(loadConfig({ AUTH_OUTAGE_GRACE_MS: '0' }).auth.outageGraceMs).toBe(0);
    expect(defaults.limits.projectUploadBytes).toBe(50 * 1024 ** 3);
    for (const wrong of ['1023', '-1', '1.5', 'lots', String(2 ** 53)])
      expect(() => loadConfig({ QUOTA_PROJECT_UPLOAD_BYTES: wrong })).toThrow(/QUOTA_PROJECT_UPLOAD_BYTES/);
    for (const wrong of ['-1', '1.5', '86400001', 'forever'])
      expect(() => loadConfig({ AUTH_OUTAGE_GRACE_MS: wrong })).toThrow(/AUTH_OUTAGE_GRACE_MS/);
    expect(defaults.paths.localRoots).toEqual([]);
    expect(defaults.api).toMatchObject({ allowedHosts: [], corsOrigins: [], metricsPublic: false });
    const set = loadConfig({
      API_ALLOWED_HOSTS: 'a.example, b.example',
      TRAINYARD_LOCAL_ROOTS: '/data:/mnt/sets',
      RATE_LIMIT_PER_MINUTE: '5',
    });
    expect(set.api.allowedHosts).toEqual(['a.example', 'b.example']);
    expect(set.paths.localRoots).toEqual(['/data', '/mnt/sets']);
    expect(set.limits.requestsPerMinute).toBe(5);
    expect(set.limits.requestsPerMinutePerProject).toBe(50);
    expect(defaults.limits.requestsPerMinutePerProject).toBe(6000);
    expect(loadConfig({ RATE_LIMIT_PER_PROJECT_PER_MINUTE: '7' }).limits.requestsPerMinutePerProject).toBe(7);
    for (const wrong of ['0', '-1', '2.5', 'many'])
      expect(() => loadConfig({ RATE_LIMIT_PER_PROJECT_PER_MINUTE: wrong })).toThrow(
        /RATE_LIMIT_PER_PROJECT_PER_MINUTE/,
      );
    expect(() => loadConfig({ TRAINYARD_LOCAL_ROOTS: 'relative/dir' })).toThrow(/absolute path/);
  });

  it("reads a project's own local roots beside shared ones, and keeps each to its project", () => {
    const { paths } = loadConfig({ TRAINYARD_LOCAL_ROOTS: '/data/shared:team-b=/data/team-b:team-c=/mnt/c/' });
    expect(paths.localRoots).toEqual(['/data/shared', '/data/team-b', '/mnt/c']);
    expect(paths.rootProjects).toEqual({ '/data/team-b': 'team-b', '/mnt/c': 'team-c' });
    expect(localRootsFor(paths, 'team-b')).toEqual(['/data/shared', '/data/team-b']);
    expect(localRootsFor(paths, 'team-a')).toEqual(['/data/shared']);
    expect(localRootsFor(paths, 'default')).toEqual(['/data/shared']);
    for (const wrong of ['Team B=/data/b', '__proto__ x=/data/b', 'team-b=relative', '=/data/b'])
      expect(() => loadConfig({ TRAINYARD_LOCAL_ROOTS: wrong })).toThrow(/TRAINYARD_LOCAL_ROOTS/);
    // A project's root inside another root, or holding one, would be read through it.
    for (const nested of ['/data:team-b=/data/team-b', 'team-b=/data:/data/shared', 'a=/data/x:b=/data/x/y'])
      expect(() => loadConfig({ TRAINYARD_LOCAL_ROOTS: nested })).toThrow(/may neither lie in nor hold another root/);
    // Siblings are not nested.
    expect(loadConfig({ TRAINYARD_LOCAL_ROOTS: '/data:team-b=/data2' }).paths.rootProjects).toEqual({
      '/data2': 'team-b',
    });
  });

  it('bounds the decoded images one run may hold in memory on a worker, 4 GiB unless set', () => {
    expect(loadConfig({}).limits.inMemoryDatasetBytes).toBe(4 * 1024 ** 3);
    expect(loadConfig({ QUOTA_IN_MEMORY_DATASET_BYTES: '1048576' }).limits.inMemoryDatasetBytes).toBe(1048576);
    for (const wrong of ['0', '-1', '1.5', 'lots'])
      expect(() => loadConfig({ QUOTA_IN_MEMORY_DATASET_BYTES: wrong })).toThrow(/QUOTA_IN_MEMORY_DATASET_BYTES/);
  });

  it('reads API_TRUST_PROXY as addresses, CIDRs and range names, and refuses anything else', () => {
    expect(loadConfig({}).api.trustProxy).toEqual([]);
    expect(loadConfig({ API_TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8, 192.0.2.1' }).api.trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
      'fd00::/8',
      '192.0.2.1',
    ]);
    for (const bad of ['true', '10.0.0.0/33', '*', '10.0.0.0/8/1', 'proxy.internal']) {
      expect(() => loadConfig({ API_TRUST_PROXY: bad })).toThrow(/API_TRUST_PROXY/);
    }
  });

  it("caps live keys per project (100) and a project's streams below the process's (a quarter unless set)", () => {
    const defaults = loadConfig({}).limits;
    expect([defaults.liveKeysPerProject, defaults.sseConnectionsPerProject]).toEqual([100, 250]);
    expect(loadConfig({ API_KEYS_MAX_PER_PROJECT: '5' }).limits.liveKeysPerProject).toBe(5);
    expect(loadConfig({ SSE_MAX_PER_PROCESS: '40' }).limits.sseConnectionsPerProject).toBe(10);
    expect(loadConfig({ SSE_MAX_PER_PROCESS: '3' }).limits.sseConnectionsPerProject).toBe(1);
    expect(loadConfig({ SSE_MAX_PER_PROJECT: '999' }).limits.sseConnectionsPerProject).toBe(999);
    // As many as the process (or more) would let one project take every place again.
    for (const [project, process] of [
      ['1000', '1000'],
      ['50', '10'],
    ])
      expect(() => loadConfig({ SSE_MAX_PER_PROJECT: project, SSE_MAX_PER_PROCESS: process })).toThrow(
        /SSE_MAX_PER_PROJECT: must be below SSE_MAX_PER_PROCESS/,
      );
    for (const wrong of ['0', '-1', '2.5', 'many']) {
      expect(() => loadConfig({ API_KEYS_MAX_PER_PROJECT: wrong })).toThrow(/API_KEYS_MAX_PER_PROJECT/);
      expect(() => loadConfig({ SSE_MAX_PER_PROJECT: wrong })).toThrow(/SSE_MAX_PER_PROJECT/);
    }
  });
});
