import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { authorizedFetch, createFreshDatabase, testAdminKey, type FreshDatabase } from '@trainyard/db/testing';
import { startS3TestServer } from '@trainyard/storage/testing';
import { CheckpointStore, type ObjectStore } from '@trainyard/storage';
import { TERMINAL_RUN_STATUSES, type RunLogLine, type RunSpecInput } from '@trainyard/contracts';
import { freePort, startApp, waitFor, type AppProcess } from './processes';

export const REDIS = { host: '127.0.0.1', port: Number(process.env['TRAINYARD_TEST_REDIS_PORT'] ?? 6379) };
export const TERMINAL: readonly string[] = TERMINAL_RUN_STATUSES;

export type RunBody = {
  id: string;
  status: string;
  failureReason: string | null;
  result: unknown;
  [field: string]: unknown;
};

export type ClusterEnv =
  | Record<string, string>
  | ((base: Readonly<Record<string, string>>) => Record<string, string> | Promise<Record<string, string>>);

/**
 * An API process, any number of worker processes, a fresh PostgreSQL database, an S3 server and
 * a queue of its own on the real Redis: the fleet the reliability tests kill, stop and restart.
 * BullMQ timings are short (lock 1 s, stalled check 300 ms) so takeovers happen in seconds.
 */
export class Cluster {
  readonly queueName = `e2e-${randomUUID()}`;
  readonly workers: AppProcess[] = [];
  api!: AppProcess;
  baseUrl = '';
  pg!: Client;
  store!: ObjectStore;
  checkpoints!: CheckpointStore;
  queue!: Queue;
  env: Record<string, string> = {};
  /** The API's admin key, and `fetch` that sends it. */
  readonly adminKey = testAdminKey();
  readonly fetch = authorizedFetch(this.adminKey);
  private database?: FreshDatabase;
  /** The S3 server the API and workers store to (`down()`/`up()` make an outage). */
  s3?: Awaited<ReturnType<typeof startS3TestServer>>;

  /**
   * `env` overrides the fleet's settings; given as a function, it is handed them first (the fresh
   * database's and the S3 server's addresses included), to put a proxy in front, say.
   */
  static async start(env: ClusterEnv = {}): Promise<Cluster> {
    const cluster = new Cluster();
    await cluster.init(env);
    return cluster;
  }

  private async init(extraEnv: ClusterEnv): Promise<void> {
    this.database = await createFreshDatabase();
    this.s3 = await startS3TestServer();
    const port = await freePort();
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.env = {
      DATABASE_URL: this.database.url,
      REDIS_URL: `redis://${REDIS.host}:${REDIS.port}`,
      ...this.s3.env(),
      TRAINYARD_QUEUE: this.queueName,
      API_PORT: String(port),
      WORKER_LOCK_DURATION_MS: '1000',
      WORKER_STALLED_INTERVAL_MS: '300',
      WORKER_MAX_ATTEMPTS: '3',
      WORKER_RECONCILE_INTERVAL_MS: '1000',
      TRAINYARD_BACKEND: 'wasm',
      TRAINYARD_ADMIN_KEY: this.adminKey,
    };
    this.env = { ...this.env, ...(typeof extraEnv === 'function' ? await extraEnv(this.env) : extraEnv) };
    this.queue = new Queue(this.queueName, { connection: REDIS });
    this.api = startApp('api', this.env);
    await waitFor(
      'the API to be ready',
      async () => ((await fetch(`${this.baseUrl}/readyz`)).ok ? true : undefined),
      60_000,
      () => this.api.output(),
    );
    this.pg = new Client({ connectionString: this.database.url });
    await this.pg.connect();
    this.store = await this.s3.objectStore();
    this.checkpoints = new CheckpointStore(this.store);
  }

  /** Starts a worker process and waits until it consumes the queue. */
  async startWorker(env: Record<string, string> = {}): Promise<AppProcess> {
    const worker = startApp('worker', { ...this.env, ...env });
    this.workers.push(worker);
    await waitFor(
      'a worker to consume the queue',
      // The quote is escaped when the worker logs JSON (LOG_JSON=true).
      async () => (/consuming \\?"/.test(worker.output()) ? true : undefined),
      60_000,
      () => worker.output(),
    );
    return worker;
  }

  /** The worker process whose id (hostname-pid-…) an attempt row names. */
  workerOf(workerId: string): AppProcess {
    const worker = this.workers.find((w) => workerId.includes(`-${w.child.pid}-`));
    if (!worker) throw new Error(`no worker process for worker id ${workerId}`);
    return worker;
  }

  post(spec: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch(`${this.baseUrl}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(spec),
    });
  }

  /** Submits as the admin, or with `headers` (another key's Authorization); the run's id. */
  async submit(spec: RunSpecInput, headers: Record<string, string> = {}): Promise<string> {
    const response = await this.post(spec, headers);
    if (response.status !== 201) throw new Error(`submit answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  }

  async run(id: string): Promise<RunBody> {
    return (await (await this.fetch(`${this.baseUrl}/v1/runs/${id}`)).json()) as RunBody;
  }

  /** The run's log lines (the first page of GET /v1/runs/:id/logs). */
  async runLog(id: string): Promise<RunLogLine[]> {
    return ((await (await this.fetch(`${this.baseUrl}/v1/runs/${id}/logs`)).json()) as { lines: RunLogLine[] }).lines;
  }

  waitForStatus(id: string, statuses: readonly string[], timeoutMs = 90_000): Promise<RunBody> {
    return waitFor(
      `run ${id} to be ${statuses.join(' or ')}`,
      async () => {
        const run = await this.run(id);
        return statuses.includes(run.status) ? run : undefined;
      },
      timeoutMs,
      () => this.logs(),
    );
  }

  /**
   * The state of a run's job once it has left 'active'. A worker records the run's end in
   * PostgreSQL before it hands the job back to BullMQ, so right after the run ended the job may
   * still be active for a moment.
   */
  async settledJobState(runId: string, timeoutMs = 15_000): Promise<string> {
    const job = await this.queue.getJob(runId);
    if (!job) throw new Error(`no job ${runId} in the queue`);
    return waitFor(
      `job ${runId} to leave 'active'`,
      async () => {
        const state = await job.getState();
        return state === 'active' ? undefined : state;
      },
      timeoutMs,
      () => this.logs(),
    );
  }

  /** Polls a SQL query until its first row's `ok` is true. */
  waitForSql(what: string, sql: string, params: unknown[], timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return waitFor(
      what,
      async () => {
        const row = (await this.pg.query(sql, params)).rows[0];
        return row?.ok ? row : undefined;
      },
      timeoutMs,
      () => this.logs(),
    );
  }

  /** Polls until the run has at least `count` COMPLETE checkpoints. */
  waitForCheckpoints(runId: string, count: number, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return this.waitForSql(
      `run ${runId} to have ${count} complete checkpoint(s)`,
      `SELECT count(*) >= $2 AS ok FROM checkpoints WHERE run_id = $1 AND status = 'COMPLETE'`,
      [runId, count],
      timeoutMs,
    );
  }

  /**
   * Waits for the run to end, and says how it ended and what it recorded: its status and reason,
   * its attempts' outcomes, and its epochs' loss points (`n`) over distinct steps (`steps`), equal
   * when no epoch was recorded twice.
   */
  async runEnding(runId: string): Promise<{
    status: string;
    reason: string | null;
    outcomes: string[];
    loss: { n: number; steps: number };
  }> {
    const run = await this.waitForStatus(runId, TERMINAL, 120_000);
    const { rows } = await this.pg.query(
      `SELECT count(*)::int AS n, count(DISTINCT step)::int AS steps FROM metric_points WHERE run_id = $1 AND name = 'loss'`,
      [runId],
    );
    return {
      status: run.status,
      reason: run.failureReason,
      outcomes: (await this.attempts(runId)).map((a) => a.outcome),
      loss: rows[0],
    };
  }

  async attempts(
    runId: string,
  ): Promise<{ id: string; number: number; outcome: string; worker_id: string; error: string | null }[]> {
    return (
      await this.pg.query(
        `SELECT id, number, outcome, worker_id, error FROM attempts WHERE run_id = $1 ORDER BY number`,
        [runId],
      )
    ).rows;
  }

  logs(): string {
    return [
      ...this.workers.map((w, i) => `--- worker ${i} (pid ${w.child.pid}) ---\n${w.output().slice(-3000)}`),
      `--- api ---\n${this.api?.output().slice(-1500) ?? ''}`,
    ].join('\n');
  }

  async stopWorkers(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await Promise.all(
      this.workers.map((w) => {
        // A stopped (SIGSTOP) process would not act on SIGTERM; wake it first.
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGCONT');
        return w.stop(signal);
      }),
    );
  }

  async stop(): Promise<void> {
    await this.stopWorkers().catch(() => undefined);
    await this.api?.stop();
    await this.queue?.obliterate({ force: true }).catch(() => undefined);
    await this.queue?.close().catch(() => undefined);
    await this.pg?.end().catch(() => undefined);
    await this.s3?.stop();
    await this.database?.drop();
  }
}

/** A pretrain that takes a few seconds on wasm, with a checkpoint every epoch. */
export function tinyPretrain(name: string, epochs = 12, perClass = 60): RunSpecInput {
  return {
    kind: 'pretrain',
    name,
    dataset: { name: 'synthetic-shapes', imageSize: 16, perClass, testPerClass: 5 },
    model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [8], latentDim: 16 },
    training: { epochs, batchSize: 16, learningRate: 2e-3, seed: 1 },
    checkpoint: { everyEpochs: 1 },
  };
}

/** The training processes a worker's log says it started for a run ("run … attempt N trains in process P[ on GPU …]"), in order. */
export function trainingProcesses(
  workerOutput: string,
  runId: string,
): { attempt: number; pid: number; gpu: number | null }[] {
  const line = new RegExp(`run ${runId} attempt (\\d+) trains in process (\\d+)(?: on GPU (\\d+))?`, 'g');
  return [...workerOutput.matchAll(line)].map((m) => ({
    attempt: Number(m[1]),
    pid: Number(m[2]),
    gpu: m[3] === undefined ? null : Number(m[3]),
  }));
}
