import type {
  ApiKeyCreated,
  ApiKeyList,
  ApiKeyScope,
  ApiKeyView,
  CheckpointFiles,
  DatasetDeletion,
  DatasetList,
  DatasetLocation,
  DatasetSummary,
  DatasetUploaded,
  DatasetView,
  DrainMode,
  Liveness,
  ModelList,
  ModelSummary,
  PipelineList,
  PipelineSummary,
  SweepList,
  SweepSummary,
  ModelVersionDeletion,
  ModelVersionRegistered,
  ModelVersions,
  PipelineSpecInput,
  PipelineView,
  ProjectLimitsList,
  ProjectLimitsView,
  QueueList,
  RunCheckpoints,
  RunComparison,
  RunCreated,
  RunDeletion,
  RunDetailView,
  RunEvent,
  RunKind,
  RunListItemView,
  RunListPage,
  RunLogLine,
  RunLogPage,
  RunMetrics,
  RunQueueView,
  RunSeries,
  RunSpecInput,
  RunStatus,
  RunUpdate,
  RunView,
  SessionView,
  SweepCreated,
  SweepSpecInput,
  SweepView,
  Whoami,
  WorkerList,
  WorkerView,
} from '@trainyard/contracts';
import type { ResponseContract, ResponseContracts, ResponseValidator } from './response-contracts';
import { DEFAULT_RETRY_POLICY, retryDelayMs, waitOrAbort, type RetryPolicy } from './retry-policy';
import { serverSentEvents } from './server-sent-events';
import { StreamEndedEarlyError, TrainyardApiError, TrainyardConnectionError } from './trainyard-api.error';

export interface TrainyardClientCoreOptions {
  retry?: Partial<RetryPolicy>;
  /**
   * Checks every JSON answer against its contract (throwing on a mismatch). None by default: the
   * answers are typed but taken as they come. The Node entry's TrainyardClient passes the zod
   * validator when `validateResponses` is on; the core itself never loads a schema.
   */
  validate?: ResponseValidator;
  /** For tests, proxies and the dashboard (which watches for 401); the global fetch by default. */
  fetch?: typeof fetch;
  /**
   * Whether cookies go with each request (fetch's `credentials`). A browser page served by the
   * API authenticates with its HttpOnly session cookie: `same-origin`, and no `apiKey`.
   */
  credentials?: RequestInit['credentials'];
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** `GET /v1/runs`: filters, sort (`createdAt` or `metric:<name>:<best|last|min|max>`) and keyset paging; extra parameters (`spec.<path>`, future filters) pass through. */
export interface RunListQuery {
  /** Either case: the API reads `succeeded` as `SUCCEEDED`. */
  status?: RunStatus | Lowercase<RunStatus>;
  /** Either case, as specs write kinds (`finetune`) and runs show them (`FINETUNE`). */
  kind?: RunKind | Lowercase<RunKind>;
  q?: string;
  sort?: string;
  order?: 'asc' | 'desc';
  limit?: number;
  cursor?: string;
  /** Runs with every one of these tags. */
  tag?: string | string[];
  /** Archived runs are left out unless `true` (only them) or `any`. */
  archived?: 'true' | 'false' | 'any';
  /** Runs whose id starts with these 4 to 32 hex digits, no dashes (`ls`'s short ids). */
  idPrefix?: string;
  [parameter: string]: string | string[] | number | undefined;
}

/** `GET /v1/pipelines`, `/v1/sweeps`, `/v1/models` and `/v1/keys`: a page of at most `limit` (1 to 100, default 25) after `cursor`. */
export interface PageQuery {
  limit?: number;
  cursor?: string;
}

export interface RunLogQuery {
  after?: string;
  limit?: number;
  attempt?: number;
}

export interface ApiKeyCreation {
  name: string;
  scopes: ApiKeyScope[];
  project?: string;
}

type Method = 'GET' | 'POST' | 'DELETE' | 'PATCH';
export type Query = Record<string, string | string[] | number | boolean | undefined>;

interface RequestOptions extends CallOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  /** A POST the server may act on twice if retried after a 503: only retried with an Idempotency-Key. */
  idempotent?: boolean;
  /** A body sent as it is, with its own type, instead of `body` as JSON; a stream is sent once (never retried). */
  raw?: { type: string; data: Uint8Array | ReadableStream<Uint8Array> };
}

/**
 * The Trainyard HTTP API, every route typed by the contracts the API validates and answers with
 * (libs/contracts). Answers of 429 with `Retry-After` and of 503 are retried as it asks, else
 * with a doubling wait (bounded; see `retryable`); every call takes an AbortSignal; errors are
 * TrainyardApiError with the problem details, or TrainyardConnectionError naming the method and
 * URL where the API was not reached.
 *
 * Browser-safe: no `node:` module, and the contracts are imported as types only, so a page
 * loads this transport without zod (the dashboard does, through `@trainyard/client/browser`).
 * Checking answers against their schemas is the optional `validate` layer that the Node entry's
 * TrainyardClient adds.
 */
export class TrainyardClientCore {
  /** The API's origin and prefix; `''` for a page served by the API itself (relative URLs). */
  readonly baseUrl: string;
  private readonly retry: RetryPolicy;
  private readonly fetchImpl: typeof fetch;

  /** `apiKey` is sent as `Authorization: Bearer <key>` on every call. */
  constructor(
    baseUrl: string,
    private readonly apiKey?: string,
    private readonly options: TrainyardClientCoreOptions = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** The absolute (or, with baseUrl `''`, root-relative) URL of a path and query, as the client sends it. */
  url(path: string, query?: Query): string {
    return `${this.baseUrl}${path}${queryString(query)}`;
  }

  // ---- health and identity ----

  /** True when the API answers /readyz with 200 (its database, Redis and store reachable). */
  async ready(opts: CallOptions = {}): Promise<boolean> {
    try {
      return (await this.fetchImpl(`${this.baseUrl}/readyz`, { signal: opts.signal })).ok;
    } catch {
      return false;
    }
  }

  health(opts?: CallOptions): Promise<Liveness> {
    return this.json('GET', '/healthz', 'Liveness', opts);
  }

  whoami(opts?: CallOptions): Promise<Whoami> {
    return this.json('GET', '/v1/whoami', 'Whoami', opts);
  }

  /**
   * Trades a key for the API's HttpOnly, SameSite=Strict session cookie (what a browser page
   * signs in with: the key is sent once and no script can read it back). A 401 for a wrong key.
   */
  createSession(key: string, opts?: CallOptions): Promise<SessionView> {
    return this.json('POST', '/v1/session', 'SessionView', { ...opts, body: { key } });
  }

  /** Clears the session cookie. */
  async deleteSession(opts?: CallOptions): Promise<void> {
    await (await this.send('DELETE', '/v1/session', { ...opts, idempotent: true })).body?.cancel();
  }

  /** The API's Prometheus metrics, as text. */
  async prometheusMetrics(opts?: CallOptions): Promise<string> {
    return (await this.send('GET', '/metrics', opts)).text();
  }

  createKey(body: ApiKeyCreation, opts?: CallOptions): Promise<ApiKeyCreated> {
    return this.json('POST', '/v1/keys', 'ApiKeyCreated', { ...opts, body });
  }

  /** A page of API keys, newest first; `revoked` true for only revoked ones, false for only live ones. */
  listKeys(query: PageQuery & { revoked?: boolean } = {}, opts?: CallOptions): Promise<ApiKeyList> {
    return this.json('GET', '/v1/keys', 'ApiKeyList', { ...opts, query: { ...query } });
  }

  /** Every API key this admin key may see, page after page. */
  keys(query: PageQuery & { revoked?: boolean } = {}, opts?: CallOptions): AsyncGenerator<ApiKeyView> {
    return this.pages((q) => this.listKeys({ ...query, ...q }, opts), query);
  }

  revokeKey(id: string, opts?: CallOptions): Promise<ApiKeyView> {
    return this.json('DELETE', `/v1/keys/${seg(id)}`, 'ApiKeyView', opts);
  }

  /** revokeKey, and whether the key was revoked before this call (`revokedAt` then says when). */
  async revokeKeyWithReplay(id: string, opts?: CallOptions): Promise<{ key: ApiKeyView; replayed: boolean }> {
    const { body, replayed } = await this.jsonWithReplay('DELETE', `/v1/keys/${seg(id)}`, 'ApiKeyView', opts);
    return { key: body, replayed };
  }

  // ---- runs ----

  /** Submits a run; with `idempotencyKey` (one is made up otherwise) a retried submit creates it once. */
  async submit(spec: RunSpecInput, opts: CallOptions & { idempotencyKey?: string } = {}): Promise<RunCreated> {
    return (await this.submitWithReplay(spec, opts)).run;
  }

  /**
   * submit, and whether the API answered with the run an earlier submit under the same key made
   * (`replayed`; also after this client's own retry of a submit whose answer was lost).
   */
  async submitWithReplay(
    spec: RunSpecInput,
    opts: CallOptions & { idempotencyKey?: string } = {},
  ): Promise<{ run: RunCreated; replayed: boolean }> {
    const key = opts.idempotencyKey ?? idempotencyKey();
    const { body, replayed } = await this.jsonWithReplay('POST', '/v1/runs', 'RunCreated', {
      ...opts,
      body: spec,
      headers: { 'idempotency-key': key },
      idempotent: true,
    });
    return { run: body, replayed };
  }

  run(id: string, opts?: CallOptions): Promise<RunDetailView> {
    return this.json('GET', `/v1/runs/${seg(id)}`, 'RunDetailView', opts);
  }

  /** One page of runs; `nextCursor` is the `cursor` of the next. */
  listRuns(query: RunListQuery = {}, opts?: CallOptions): Promise<RunListPage> {
    return this.json('GET', '/v1/runs', 'RunListPage', { ...opts, query });
  }

  /** Every run the query matches, page after page, fetched as the caller iterates. */
  async *runs(query: RunListQuery = {}, opts?: CallOptions): AsyncGenerator<RunListItemView> {
    let cursor = query.cursor;
    do {
      const page = await this.listRuns({ ...query, cursor }, opts);
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /** Where the run's job stands in its class's queue (jobs ahead of it) and how many live workers could take it. */
  runQueue(id: string, opts?: CallOptions): Promise<RunQueueView> {
    return this.json('GET', `/v1/runs/${seg(id)}/queue`, 'RunQueueView', opts);
  }

  cancel(id: string, opts?: CallOptions): Promise<RunView> {
    return this.json('POST', `/v1/runs/${seg(id)}/cancel`, 'RunView', { ...opts, idempotent: true });
  }

  /** Rename, tag (the whole list) or annotate a run with Markdown notes (`null` clears them). */
  updateRun(id: string, change: RunUpdate, opts?: CallOptions): Promise<RunDetailView> {
    return this.json('PATCH', `/v1/runs/${seg(id)}`, 'RunDetailView', { ...opts, body: change, idempotent: true });
  }

  /** Archive a run (lists leave it out unless asked), or bring it back with `archived: false`. */
  archive(id: string, archived = true, opts?: CallOptions): Promise<RunView> {
    return this.json('POST', `/v1/runs/${seg(id)}/${archived ? 'archive' : 'unarchive'}`, 'RunView', {
      ...opts,
      idempotent: true,
    });
  }

  /** Delete a finished run, its metrics, checkpoints and stored objects; `dryRun` only says what would go. A 409 names what is in the way. */
  deleteRun(id: string, params: { dryRun?: boolean } = {}, opts?: CallOptions): Promise<RunDeletion> {
    return this.json('DELETE', `/v1/runs/${seg(id)}`, 'RunDeletion', {
      ...opts,
      query: { dryRun: params.dryRun },
      idempotent: true,
    });
  }

  compare(
    ids: string[],
    params: { names?: string[]; maxPoints?: number } = {},
    opts?: CallOptions,
  ): Promise<RunComparison> {
    const query = { ids: ids.join(','), names: params.names?.join(','), maxPoints: params.maxPoints };
    return this.json('GET', '/v1/runs/compare', 'RunComparison', { ...opts, query });
  }

  /** Metric points by name then step; `names` one or several (all when omitted). */
  metrics(
    id: string,
    names?: string | string[],
    params: { maxPoints?: number } = {},
    opts?: CallOptions,
  ): Promise<RunMetrics> {
    const query = { names: typeof names === 'string' ? names : names?.join(','), maxPoints: params.maxPoints };
    return this.json('GET', `/v1/runs/${seg(id)}/metrics`, 'RunMetrics', { ...opts, query });
  }

  series(id: string, names?: string[], params: { maxPoints?: number } = {}, opts?: CallOptions): Promise<RunSeries> {
    return this.json('GET', `/v1/runs/${seg(id)}/series`, 'RunSeries', {
      ...opts,
      query: { names: names?.join(','), maxPoints: params.maxPoints },
    });
  }

  checkpoints(id: string, opts?: CallOptions): Promise<RunCheckpoints> {
    return this.json('GET', `/v1/runs/${seg(id)}/checkpoints`, 'RunCheckpoints', opts);
  }

  checkpointFiles(id: string, sequence: number, opts?: CallOptions): Promise<CheckpointFiles> {
    return this.json('GET', `/v1/runs/${seg(id)}/checkpoints/${sequence}/files`, 'CheckpointFiles', opts);
  }

  /**
   * One file of a complete checkpoint, as a streamed response (read `body`; `content-length` when
   * known). With `from` (a byte offset), only the bytes from there: a `206` whose `content-range`
   * starts at `from`, to resume a file a dropped connection cut short (a server that ignores the
   * range answers `200` with the whole file).
   */
  downloadCheckpointFile(
    id: string,
    sequence: number,
    file: string,
    opts: CallOptions & { from?: number } = {},
  ): Promise<Response> {
    const { from, ...call } = opts;
    return this.send('GET', checkpointFilePath(id, sequence), {
      ...call,
      query: { file },
      ...(from ? { headers: { range: `bytes=${from}-` } } : {}),
    });
  }

  /** Where downloadCheckpointFile reads from: for a link (`<a download>`) on a page signed in by cookie. */
  checkpointFileUrl(id: string, sequence: number, file: string): string {
    return this.url(checkpointFilePath(id, sequence), { file });
  }

  /**
   * A complete checkpoint as one tar archive (every file under `<run>-ckpt<N>/`, manifest.json
   * first), as a streamed response; `content-length` when the server could compute it.
   */
  downloadCheckpointArchive(id: string, sequence: number, opts?: CallOptions): Promise<Response> {
    return this.send('GET', checkpointArchivePath(id, sequence), opts);
  }

  /** Where downloadCheckpointArchive reads from, for a link. */
  checkpointArchiveUrl(id: string, sequence: number): string {
    return this.url(checkpointArchivePath(id, sequence));
  }

  /** The PNG grid of augmented samples of a run's data, as a response. */
  augmentationPreview(id: string, opts?: CallOptions): Promise<Response> {
    return this.send('GET', augmentationPath(id), opts);
  }

  /** Where augmentationPreview reads from, for an `<img>`. */
  augmentationPreviewUrl(id: string): string {
    return this.url(augmentationPath(id));
  }

  /** A page of a run's log; pass `next` as `after` to read on. */
  logs(id: string, query: RunLogQuery = {}, opts?: CallOptions): Promise<RunLogPage> {
    return this.json('GET', `/v1/runs/${seg(id)}/logs`, 'RunLogPage', { ...opts, query: { ...query } });
  }

  /** A run's log lines as they are written, until the run has ended and every line was sent. */
  async *followLogs(
    id: string,
    query: Omit<RunLogQuery, 'limit'> = {},
    opts?: CallOptions,
  ): AsyncGenerator<RunLogLine> {
    for await (const { line } of this.followLogCursors(id, query, opts)) yield line;
  }

  /**
   * followLogs with each line's cursor: pass the last one as `after` to resume a dropped stream
   * without a gap or a repeat. It returns once the server says the run's log has ended (`end`);
   * a stream that stops before that (an API restarted, a key revoked) throws StreamEndedEarlyError.
   */
  async *followLogCursors(
    id: string,
    query: Omit<RunLogQuery, 'limit'> = {},
    opts?: CallOptions,
  ): AsyncGenerator<{ cursor: string | undefined; line: RunLogLine }> {
    const response = await this.send('GET', `/v1/runs/${seg(id)}/logs`, {
      ...opts,
      query: { ...query, follow: true },
      headers: { accept: 'text/event-stream' },
    });
    for await (const event of serverSentEvents(response.body!)) {
      if (event.event === 'end') return;
      if (event.event === 'line') yield { cursor: event.id, line: this.parse('RunLogLine', JSON.parse(event.data)) };
    }
    throw new StreamEndedEarlyError(`the API ended run ${id}'s log stream before the run's log ended`);
  }

  /**
   * A run's live events: a `status` snapshot first, then `progress`, `metrics` and `status` as
   * they happen. The server keeps the stream open after the run ends: stop iterating (or abort)
   * once a terminal status arrives.
   */
  async *events(id: string, opts?: CallOptions): AsyncGenerator<RunEvent> {
    const response = await this.send('GET', `/v1/runs/${seg(id)}/events`, {
      ...opts,
      headers: { accept: 'text/event-stream' },
    });
    for await (const event of serverSentEvents(response.body!)) {
      yield this.parse('RunEvent', JSON.parse(event.data));
    }
  }

  // ---- pipelines, sweeps, models, datasets ----

  submitPipeline(spec: PipelineSpecInput, opts?: CallOptions): Promise<PipelineView> {
    return this.json('POST', '/v1/pipelines', 'PipelineView', { ...opts, body: spec });
  }

  pipeline(id: string, opts?: CallOptions): Promise<PipelineView> {
    return this.json('GET', `/v1/pipelines/${seg(id)}`, 'PipelineView', opts);
  }

  /** One page of pipelines, newest first. */
  listPipelines(query: PageQuery = {}, opts?: CallOptions): Promise<PipelineList> {
    return this.json('GET', '/v1/pipelines', 'PipelineList', { ...opts, query: { ...query } });
  }

  /** Every pipeline, page after page, fetched as the caller iterates. */
  pipelines(query: PageQuery = {}, opts?: CallOptions): AsyncGenerator<PipelineSummary> {
    return this.pages((q) => this.listPipelines(q, opts), query);
  }

  cancelPipeline(id: string, opts?: CallOptions): Promise<PipelineView> {
    return this.json('POST', `/v1/pipelines/${seg(id)}/cancel`, 'PipelineView', { ...opts, idempotent: true });
  }

  submitSweep(spec: SweepSpecInput, opts?: CallOptions): Promise<SweepCreated> {
    return this.json('POST', '/v1/sweeps', 'SweepCreated', { ...opts, body: spec });
  }

  sweep(id: string, opts?: CallOptions): Promise<SweepView> {
    return this.json('GET', `/v1/sweeps/${seg(id)}`, 'SweepView', opts);
  }

  /** Cancels the sweep's runs that have not ended (waiting ones now, running ones between batches); the sweep after. */
  cancelSweep(id: string, opts?: CallOptions): Promise<SweepView> {
    return this.json('POST', `/v1/sweeps/${seg(id)}/cancel`, 'SweepView', { ...opts, idempotent: true });
  }

  /** One page of sweeps, newest first. */
  listSweeps(query: PageQuery = {}, opts?: CallOptions): Promise<SweepList> {
    return this.json('GET', '/v1/sweeps', 'SweepList', { ...opts, query: { ...query } });
  }

  /** Every sweep, page after page. */
  sweeps(query: PageQuery = {}, opts?: CallOptions): AsyncGenerator<SweepSummary> {
    return this.pages((q) => this.listSweeps(q, opts), query);
  }

  registerModel(name: string, runId: string, opts?: CallOptions): Promise<ModelVersionRegistered> {
    return this.json('POST', '/v1/models', 'ModelVersionRegistered', { ...opts, body: { name, runId } });
  }

  /** A model's versions, newest first. `project`: an operator's key names the model's project (`default` if left out). */
  modelVersions(name: string, params: { project?: string } = {}, opts?: CallOptions): Promise<ModelVersions> {
    return this.json('GET', `/v1/models/${seg(name)}/versions`, 'ModelVersions', {
      ...opts,
      query: { project: params.project },
    });
  }

  /**
   * Removes a version from the registry (its checkpoint stays with its run); the name goes with its
   * last version. `project`: an operator's key names the model's project (`default` if left out).
   */
  deleteModelVersion(
    name: string,
    version: number,
    params: { project?: string } = {},
    opts?: CallOptions,
  ): Promise<ModelVersionDeletion> {
    return this.json('DELETE', `/v1/models/${seg(name)}/versions/${seg(String(version))}`, 'ModelVersionDeletion', {
      ...opts,
      query: { project: params.project },
      idempotent: true,
    });
  }

  /** One page of registered models by name, each with its newest versions and the run of each. */
  listModels(query: PageQuery = {}, opts?: CallOptions): Promise<ModelList> {
    return this.json('GET', '/v1/models', 'ModelList', { ...opts, query: { ...query } });
  }

  /** Every registered model, page after page. */
  models(query: PageQuery = {}, opts?: CallOptions): AsyncGenerator<ModelSummary> {
    return this.pages((q) => this.listModels(q, opts), query);
  }

  registerDataset(name: string, location: DatasetLocation, opts?: CallOptions): Promise<DatasetView> {
    return this.json('POST', '/v1/datasets', 'DatasetView', { ...opts, body: { name, location } });
  }

  /**
   * Uploads an image folder packed as a tar (one subfolder per class; what `tar -C dir -c .`
   * writes) and registers it as dataset `name`: the API streams its images into the object store.
   * `tar` is the bytes, or a stream of them (sent once: a 429 or 503 is not retried then).
   * Files named as images whose bytes are no PNG, JPEG or WebP are left out and listed in
   * `skipped` (the first 100; `skippedCount` counts them all).
   */
  uploadDataset(
    name: string,
    tar: Uint8Array | ReadableStream<Uint8Array>,
    opts?: CallOptions,
  ): Promise<DatasetUploaded> {
    return this.json('POST', '/v1/datasets/uploads', 'DatasetUploaded', {
      ...opts,
      query: { name },
      raw: { type: 'application/x-tar', data: tar },
    });
  }

  /**
   * One page of registered datasets, newest first, each with its classes counted and the first few
   * named (`dataset(id)` has them all, with their counts).
   */
  listDatasets(query: PageQuery = {}, opts?: CallOptions): Promise<DatasetList> {
    return this.json('GET', '/v1/datasets', 'DatasetList', { ...opts, query: { ...query } });
  }

  /** Every registered dataset, page after page. */
  datasets(query: PageQuery = {}, opts?: CallOptions): AsyncGenerator<DatasetSummary> {
    return this.pages((q) => this.listDatasets(q, opts), query);
  }

  dataset(id: string, opts?: CallOptions): Promise<DatasetView> {
    return this.json('GET', `/v1/datasets/${seg(id)}`, 'DatasetView', opts);
  }

  /** Deletes a dataset: its registration, and the images an upload stored (a folder of your own stays as it is). */
  deleteDataset(id: string, opts?: CallOptions): Promise<DatasetDeletion> {
    return this.json('DELETE', `/v1/datasets/${seg(id)}`, 'DatasetDeletion', { ...opts, idempotent: true });
  }

  /** Sample image `index` of class `classIndex` of a dataset (PNG, JPEG or WebP, as stored), as a response. */
  datasetSample(id: string, classIndex: number, index: number, opts?: CallOptions): Promise<Response> {
    return this.send('GET', datasetSamplePath(id, classIndex, index), opts);
  }

  /** Where datasetSample reads from, for an `<img>`. */
  datasetSampleUrl(id: string, classIndex: number, index: number): string {
    return this.url(datasetSamplePath(id, classIndex, index));
  }

  // ---- fleet ----

  workers(opts?: CallOptions): Promise<WorkerList> {
    return this.json('GET', '/v1/workers', 'WorkerList', opts);
  }

  drainWorker(id: string, mode: DrainMode = 'preempt', opts?: CallOptions): Promise<WorkerView> {
    return this.json('POST', `/v1/workers/${seg(id)}/drain`, 'WorkerView', {
      ...opts,
      body: { mode },
      idempotent: true,
    });
  }

  undrainWorker(id: string, opts?: CallOptions): Promise<WorkerView> {
    return this.json('DELETE', `/v1/workers/${seg(id)}/drain`, 'WorkerView', opts);
  }

  queues(opts?: CallOptions): Promise<QueueList> {
    return this.json('GET', '/v1/queues', 'QueueList', opts);
  }

  // ---- projects ----

  /** A project's limits on runs training and waiting at once (its own, else the defaults) and its load. */
  projectLimits(project: string, opts?: CallOptions): Promise<ProjectLimitsView> {
    return this.json('GET', `/v1/projects/${seg(project)}/limits`, 'ProjectLimitsView', opts);
  }

  /** Every project with a limit of its own (an operator's admin key). */
  listProjectLimits(opts?: CallOptions): Promise<ProjectLimitsList> {
    return this.json('GET', '/v1/projects/limits', 'ProjectLimitsList', opts);
  }

  /**
   * Changes a project's own limits (an operator's admin key): a number sets one, null removes it
   * (the default applies), a field left out stays. Absolute values: safe to repeat.
   */
  setProjectLimits(
    project: string,
    change: { maxRunning?: number | null; maxQueued?: number | null; maxPriority?: number | null },
    opts?: CallOptions,
  ): Promise<ProjectLimitsView> {
    return this.json('PATCH', `/v1/projects/${seg(project)}/limits`, 'ProjectLimitsView', {
      ...opts,
      body: change,
      idempotent: true,
    });
  }

  // ---- transport ----

  /** Items of page after page of a keyset list, fetched as the caller iterates. */
  private async *pages<T>(
    fetchPage: (query: PageQuery) => Promise<{ items: T[]; nextCursor: string | null }>,
    query: PageQuery,
  ): AsyncGenerator<T> {
    let cursor = query.cursor;
    do {
      const page = await fetchPage({ ...query, cursor });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  private async json<K extends ResponseContract>(
    method: Method,
    path: string,
    contract: K,
    opts: RequestOptions = {},
  ): Promise<ResponseContracts[K]> {
    const response = await this.send(method, path, opts);
    return this.parse(contract, await response.json());
  }

  /** json, and whether the API says the request repeated an earlier one (REPLAYED_HEADER). */
  private async jsonWithReplay<K extends ResponseContract>(
    method: Method,
    path: string,
    contract: K,
    opts: RequestOptions = {},
  ): Promise<{ body: ResponseContracts[K]; replayed: boolean }> {
    const response = await this.send(method, path, opts);
    const replayed = response.headers.get(REPLAYED_HEADER) === 'true';
    return { body: this.parse(contract, await response.json()), replayed };
  }

  private parse<K extends ResponseContract>(contract: K, value: unknown): ResponseContracts[K] {
    return this.options.validate ? this.options.validate(contract, value) : (value as ResponseContracts[K]);
  }

  /** One call, retried on 429 and 503 within the policy; any other non-2xx is a TrainyardApiError. */
  private async send(method: Method, path: string, opts: RequestOptions = {}): Promise<Response> {
    const url = this.url(path, opts.query);
    const { raw } = opts;
    const headers: Record<string, string> = {
      ...(raw ? { 'content-type': raw.type } : opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
      // What no HTML form of another site can send: the API (http-hardening.ts) asks it of a change
      // made without a key (a page's session cookie, or an API with auth off) and without a JSON body.
      ...(method === 'GET' ? {} : { 'x-requested-with': 'trainyard' }),
      ...opts.headers,
    };
    const body = raw ? raw.data : opts.body === undefined ? undefined : JSON.stringify(opts.body);
    // A stream can be read once: sent as it is read (`duplex: 'half'`, which fetch asks of a stream body), never retried.
    const streamed = raw !== undefined && !(raw.data instanceof Uint8Array);
    for (let retry = 0; ; retry++) {
      const response = await this.fetchImpl(url, {
        method,
        headers,
        body,
        signal: opts.signal,
        ...(streamed ? { duplex: 'half' } : {}),
        ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
      } as RequestInit).catch((error: unknown) => {
        // An abort rejects as fetch rejected it (an AbortError, or the signal's reason): the caller asked for it.
        if (opts.signal?.aborted || (error as { name?: unknown } | null)?.name === 'AbortError') throw error;
        throw new TrainyardConnectionError(method, url, error);
      });
      if (response.ok) return response;
      if (!streamed && retry < this.retry.retries && this.retryable(method, response, opts)) {
        await response.body?.cancel().catch(() => undefined);
        await waitOrAbort(retryDelayMs(this.retry, retry, response.headers.get('retry-after')), opts.signal);
        continue;
      }
      const text = await response.text().catch(() => '');
      throw new TrainyardApiError(method, path, response.status, parseBody(text));
    }
  }

  /**
   * A 429 with `Retry-After` (the per-key rate limit) is refused before the handler runs, so any
   * call may repeat it. One without is a quota that frees only as the caller or the fleet acts (a
   * project's queued runs start, a live stream is closed): repeating it within seconds would only
   * delay its message. A 503 may come after a write happened (a submit's run is marked FAILED when
   * Redis is away): only reads and calls that are safe to repeat (an Idempotency-Key, a cancel, a
   * drain) are retried then.
   */
  private retryable(method: Method, { status, headers }: Response, opts: RequestOptions): boolean {
    if (status === 429) return headers.has('retry-after');
    return status === 503 && (method === 'GET' || opts.idempotent === true);
  }
}

function seg(value: string): string {
  return encodeURIComponent(value);
}

const checkpointFilePath = (id: string, sequence: number) => `/v1/runs/${seg(id)}/checkpoints/${sequence}/download`;
const checkpointArchivePath = (id: string, sequence: number) => `/v1/runs/${seg(id)}/checkpoints/${sequence}/archive`;
const augmentationPath = (id: string) => `/v1/runs/${seg(id)}/augmentation.png`;
const datasetSamplePath = (id: string, classIndex: number, index: number) =>
  `/v1/datasets/${seg(id)}/samples/${classIndex}/${index}`;

/**
 * A random UUID (v4) for an Idempotency-Key: Web Crypto's randomUUID where there is one (Node,
 * browsers in a secure context), else built from getRandomValues (which plain-HTTP pages have).
 */
function idempotencyKey(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    // A list repeats its parameter (`tag=a&tag=b`), as the API reads it.
    for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value])
      params.append(name, String(item));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function parseBody(text: string): TrainyardApiError['body'] {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as TrainyardApiError['body']) : null;
  } catch {
    return text ? { detail: text.slice(0, 500) } : null;
  }
}

/**
 * The contracts' IDEMPOTENT_REPLAYED_HEADER, written out: the browser entry loads nothing of
 * `@trainyard/contracts` (tools/client-package.int-spec.ts), and trainyard-client.spec.ts holds the two equal.
 */
export const REPLAYED_HEADER = 'idempotent-replayed';
