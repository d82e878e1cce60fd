// `npm run bench:history`: the list and detail routes the dashboards read, timed over HTTP against a
// year of one team's history (200,000 runs in 3 projects, sweeps, pipelines, datasets, model
// versions, metric summaries) in a fresh PostgreSQL database: p50/p99 per route, and the
// EXPLAIN (ANALYZE, BUFFERS) plans of the statements behind the slow ones. A script, not a test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { loadConfig } from '@trainyard/config';
import { openDatabase } from '@trainyard/db';
import { createFreshDatabase, testAdminKey } from '@trainyard/db/testing';
import { createApiApp } from '@trainyard/api-app';
import { DEFAULT_SIZES, loadHistory, type HistorySizes } from './history-dataset';
import { measure, percentile } from './percentiles';
import { positiveIntegerFlags } from './positive-flags';
import { machineLine } from './machine-line';

/** A route slower than this over its requests is sampled fewer times (at least 5). */
const TIME_PER_ROUTE_MS = 5000;

interface Case {
  name: string;
  /** A path under the API, or a function that finds it (a deep page's cursor). */
  path: string;
  /** The operator's key (every project) or a key of the `vision` project. */
  key: 'operator' | 'project';
}

interface Statement {
  text: string;
  values: unknown[];
  ms: number;
}

/**
 * Every statement the API's pool sends while `recording` is set, with its time. The bench runs
 * the API in its own process, so wrapping pg's Client.query here sees what Prisma's adapter sends
 * ($queryRaw and model queries alike), with the values, for the EXPLAIN of the slow cases.
 */
let recording: Statement[] | null = null;
const originalQuery = Client.prototype.query as (...args: unknown[]) => unknown;
(Client.prototype as { query: unknown }).query = function (this: Client, ...args: unknown[]) {
  const sink = recording;
  if (!sink) return originalQuery.apply(this, args);
  const config = args[0] as string | { text?: string; values?: unknown[] };
  const text = typeof config === 'string' ? config : (config.text ?? '');
  const values = ((typeof config === 'string' ? args[1] : config.values) as unknown[] | undefined) ?? [];
  const started = process.hrtime.bigint();
  const done = () => sink.push({ text, values, ms: Number(process.hrtime.bigint() - started) / 1e6 });
  // pg.Pool#query passes a callback (and gets no promise back); a client used directly gets one.
  const last = args.length - 1;
  const callback = args[last];
  if (typeof callback === 'function') {
    args[last] = (...results: unknown[]) => {
      done();
      return (callback as (...r: unknown[]) => unknown)(...results);
    };
  }
  const result = originalQuery.apply(this, args);
  if (result instanceof Promise) void result.then(done, () => undefined);
  return result;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: String(DEFAULT_SIZES.runs) },
      datasets: { type: 'string', default: String(DEFAULT_SIZES.datasets) },
      pipelines: { type: 'string', default: String(DEFAULT_SIZES.pipelines) },
      sweeps: { type: 'string', default: String(DEFAULT_SIZES.sweeps) },
      models: { type: 'string', default: String(DEFAULT_SIZES.models) },
      epochs: { type: 'string', default: String(DEFAULT_SIZES.epochs) },
      // Requests per route (after 3 unmeasured), fewer for a route slow enough to pass TIME_PER_ROUTE_MS.
      requests: { type: 'string', default: '40' },
      pages: { type: 'string', default: '50' },
      // Statements whose EXPLAIN ANALYZE takes this long or longer have their plans printed.
      'slow-sql-ms': { type: 'string', default: '5' },
      // --keep leaves the seeded database in place (its URL printed) and --database-url times one
      // kept before, without seeding, so two builds (before and after a fix) read the same rows.
      keep: { type: 'boolean', default: false },
      'database-url': { type: 'string' },
      // --only <regex>: time only the routes whose name matches (e.g. 'sort=metric'), not the whole list.
      only: { type: 'string' },
    },
    allowPositionals: false,
  });
  const { keep, 'database-url': given, only, ...numeric } = values;
  const selected = only === undefined ? undefined : new RegExp(only);
  const flags = positiveIntegerFlags(numeric);
  const sizes: HistorySizes = flags;
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(machineLine('history', false));
  const fresh = given ? undefined : await createFreshDatabase();
  const url = given ?? fresh!.url;
  const database = await openDatabase({ url, embeddedPath: '' }, { migrate: true });
  await database.close();
  const pg = new Client({ connectionString: url });
  await pg.connect();
  const home = mkdtempSync(join(tmpdir(), 'trainyard-bench-history-'));
  let app: Awaited<ReturnType<typeof createApiApp>> | undefined;
  try {
    log(`PostgreSQL ${(await pg.query('SHOW server_version')).rows[0].server_version}`);
    if (fresh) {
      log('loading…');
      const loadStarted = Date.now();
      await loadHistory(pg, sizes, log);
      log(`loaded in ${((Date.now() - loadStarted) / 1000).toFixed(0)} s`);
    }
    const counts = (
      await pg.query(`SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM metric_summaries)::int AS summaries,
        (SELECT count(*) FROM metric_points)::int AS points, (SELECT count(*) FROM model_versions)::int AS versions,
        (SELECT count(*) FROM datasets)::int AS datasets, (SELECT count(*) FROM pipelines)::int AS pipelines,
        (SELECT count(*) FROM sweeps)::int AS sweeps`)
    ).rows[0] as Record<string, number>;
    log(
      `${Object.entries(counts)
        .map(([table, n]) => `${n.toLocaleString()} ${table}`)
        .join(', ')}\n`,
    );

    const adminKey = testAdminKey();
    app = await createApiApp(
      loadConfig({
        TRAINYARD_HOME: home,
        DATABASE_URL: url,
        LOG_LEVEL: 'error',
        TRAINYARD_ADMIN_KEY: adminKey,
        RATE_LIMIT_PER_MINUTE: '1000000',
      }),
      { queueName: `bench-history-${randomUUID()}`, logger: false, shutdownHooks: false, openApi: false },
    );
    await app.listen(0, '127.0.0.1');
    const api = new HttpClient(await app.getUrl(), adminKey);
    api.projectKey = await api.createProjectKey('vision');

    const cases = (await buildCases(pg, api, flags.pages)).filter((c) => !selected || selected.test(c.name));
    log(`${'route'.padEnd(92)} ${'p50'.padStart(8)} ${'p99'.padStart(8)}  slowest statement`);
    const plans: string[] = [];
    const explained = new Set<string>();
    for (const c of cases) {
      const started = Date.now();
      await api.get(c.path, c.key);
      const once = Math.max(Date.now() - started, 1);
      const times = await measure(
        () => api.get(c.path, c.key),
        Math.max(5, Math.min(flags.requests, Math.floor(TIME_PER_ROUTE_MS / once))),
        2,
      );
      // One more request, its statements recorded, then each EXPLAINed (ANALYZE: it runs again).
      recording = [];
      await api.get(c.path, c.key);
      const statements = recording;
      recording = null;
      let slowest = 0;
      for (const s of statements) {
        const plan = await explain(pg, s.text, s.values);
        slowest = Math.max(slowest, plan.ms);
        const key = `${s.text}\0${JSON.stringify(s.values)}`;
        if (plan.ms < flags['slow-sql-ms'] || explained.has(key)) continue;
        explained.add(key);
        plans.push(
          `\n== ${c.name} [${c.key}]: GET ${c.path.slice(0, 120)}\n  ${plan.ms.toFixed(1)} ms: ${clip(s.text.replace(/\s+/g, ' ').trim(), 400)}\n${plan.text}`,
        );
      }
      log(
        `${`${c.name} [${c.key}]`.padEnd(92)} ${ms(percentile(times, 50))} ${ms(percentile(times, 99))}  ${ms(slowest)} of ${statements.length}`,
      );
    }
    log(
      `\nEXPLAIN (ANALYZE, BUFFERS) of every statement that took ${flags['slow-sql-ms']} ms or more (execution time):${plans.join('\n')}`,
    );
  } finally {
    await app?.close();
    await pg.end();
    if (fresh && keep) log(`\nkept the database: ${fresh.url}`);
    else await fresh?.drop();
    rmSync(home, { recursive: true, force: true });
  }
}

/** The routes, filters and deep pages the dashboards and the CLI read; ids taken from the loaded history. */
async function buildCases(pg: Client, api: HttpClient, pages: number): Promise<Case[]> {
  const one = async (sql: string) => (await pg.query(sql)).rows[0] as Record<string, string>;
  const run = await one(
    `SELECT r.id FROM runs r WHERE r.project = 'vision' AND r.status = 'SUCCEEDED' AND r.kind = 'FINETUNE' AND r.sweep_id IS NOT NULL ORDER BY r.created_at DESC LIMIT 1`,
  );
  const sweep = await one(
    `SELECT s.id FROM sweeps s WHERE s.project = 'vision' AND (SELECT count(*) FROM runs WHERE sweep_id = s.id) >= 150 ORDER BY s.created_at DESC LIMIT 1`,
  );
  const pipeline = await one(`SELECT id FROM pipelines WHERE project = 'vision' ORDER BY created_at DESC LIMIT 1`);
  const dataset = await one(
    `SELECT id FROM datasets WHERE project = 'vision' ORDER BY cardinality(class_names) DESC, created_at DESC LIMIT 1`,
  );
  const model = await one(`SELECT name FROM model_names WHERE project = 'vision' ORDER BY last_version DESC LIMIT 1`);
  const compareIds = (
    await pg.query(`SELECT id FROM runs WHERE sweep_id = $1 AND status = 'SUCCEEDED' ORDER BY name LIMIT 5`, [
      sweep['id'],
    ])
  ).rows.map((r) => r.id as string);
  const idPrefix = run['id']!.replace(/-/g, '').slice(0, 6);

  const cases: Case[] = [];
  const lists: [string, string][] = [
    ['runs', '/v1/runs'],
    ['datasets', '/v1/datasets'],
    ['pipelines', '/v1/pipelines'],
    ['sweeps', '/v1/sweeps'],
    ['models', '/v1/models'],
  ];
  for (const [name, path] of lists) {
    for (const key of ['operator', 'project'] as const) {
      cases.push({ name: `${name}: first page`, path, key });
      const deep = await api.followCursors(path, key, pages);
      if (deep) cases.push({ name: `${name}: page ${pages} (cursor)`, path: deep, key });
    }
  }
  const runFilters: [string, string][] = [
    ['status=SUCCEEDED', 'status=SUCCEEDED'],
    ['kind=evaluate', 'kind=evaluate'],
    ['q=flowers', 'q=flowers'],
    // A rare text and one no run holds: without the names' trigram index each reads every run.
    ['q=run 12345 (a few runs)', 'q=run%2012345'],
    ['q=no such run (none)', 'q=no%20such%20run'],
    [`idPrefix=${idPrefix}`, `idPrefix=${idPrefix}`],
    ['tag=prod', 'tag=prod'],
    ['tag=ablation&tag=v2 (no run has both)', 'tag=ablation&tag=v2'],
    ['tag=prod&tag=v2 (one run in five has both)', 'tag=prod&tag=v2'],
    ['archived=true', 'archived=true'],
    ['archived=any', 'archived=any'],
    ['spec.training.learningRate=0.001', 'spec.training.learningRate=0.001'],
    ['spec.model.type=conv-autoencoder&status=FAILED', 'spec.model.type=conv-autoencoder&status=FAILED'],
    ['sort=metric:val_accuracy:best', 'sort=metric:val_accuracy:best'],
    ['sort=metric:test/accuracy:best&status=SUCCEEDED', 'sort=metric:test%2Faccuracy:best&status=SUCCEEDED'],
    ['sort=metric:val_loss:last&order=asc', 'sort=metric:val_loss:last&order=asc'],
    ['sort=metric:val_loss:min&order=asc', 'sort=metric:val_loss:min&order=asc'],
    ['sort=metric:val_accuracy:max', 'sort=metric:val_accuracy:max'],
    ['sort=metric:test/accuracy:best&kind=pretrain (phase 2)', 'sort=metric:test%2Faccuracy:best&kind=pretrain'],
    // Filters none (or few) of the metric's runs pass: a bounded walk, then the filter's runs (docs/benchmarks.md).
    ['sort=metric:test/accuracy:best&status=FAILED (phase 2)', 'sort=metric:test%2Faccuracy:best&status=FAILED'],
    ['sort=metric:val_accuracy:best&status=FAILED', 'sort=metric:val_accuracy:best&status=FAILED'],
    [
      'sort=metric:test/accuracy:best&spec.model.type=conv-autoencoder (phase 2)',
      'sort=metric:test%2Faccuracy:best&spec.model.type=conv-autoencoder',
    ],
    ['sort=metric:test/accuracy:best&q=run 1234', 'sort=metric:test%2Faccuracy:best&q=run%201234'],
    [`sort=metric:val_loss:best&idPrefix=${idPrefix}`, `sort=metric:val_loss:best&idPrefix=${idPrefix}`],
    ['status=QUEUED&limit=100', 'status=QUEUED&limit=100'],
  ];
  for (const [name, query] of runFilters) {
    for (const key of ['operator', 'project'] as const)
      cases.push({ name: `runs: ${name}`, path: `/v1/runs?${query}`, key });
  }
  const deepMetric = await api.followCursors('/v1/runs?sort=metric:val_accuracy:best', 'project', pages);
  if (deepMetric)
    cases.push({ name: `runs: sort=metric:val_accuracy:best, page ${pages}`, path: deepMetric, key: 'project' });
  cases.push(
    { name: 'run detail', path: `/v1/runs/${run['id']}`, key: 'project' },
    { name: 'run checkpoints', path: `/v1/runs/${run['id']}/checkpoints`, key: 'project' },
    { name: 'run metrics', path: `/v1/runs/${run['id']}/metrics`, key: 'project' },
    { name: 'run series maxPoints=200', path: `/v1/runs/${run['id']}/series?maxPoints=200`, key: 'project' },
    { name: 'compare 5 runs', path: `/v1/runs/compare?ids=${compareIds.join(',')}`, key: 'project' },
    { name: 'sweep detail (leaderboard of 150+ runs)', path: `/v1/sweeps/${sweep['id']}`, key: 'project' },
    { name: 'pipeline detail', path: `/v1/pipelines/${pipeline['id']}`, key: 'project' },
    { name: 'dataset detail (201 classes)', path: `/v1/datasets/${dataset['id']}`, key: 'project' },
    { name: 'model versions', path: `/v1/models/${model['name']}/versions`, key: 'project' },
    { name: 'fleet: queues', path: '/v1/queues', key: 'operator' },
    { name: 'fleet: queues', path: '/v1/queues', key: 'project' },
    { name: 'fleet: workers', path: '/v1/workers', key: 'operator' },
    { name: 'project limits', path: '/v1/projects/vision/limits', key: 'project' },
    { name: 'metrics (Prometheus scrape)', path: '/metrics', key: 'operator' },
  );
  return cases;
}

class HttpClient {
  projectKey = '';
  constructor(
    private readonly baseUrl: string,
    private readonly adminKey: string,
  ) {}

  async get(path: string, key: Case['key']): Promise<unknown> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${key === 'operator' ? this.adminKey : this.projectKey}` },
    });
    const body = await response.text();
    if (!response.ok) throw new Error(`GET ${path} [${key}] answered ${response.status}: ${body.slice(0, 500)}`);
    return body;
  }

  async createProjectKey(project: string): Promise<string> {
    const response = await fetch(`${this.baseUrl}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `bench ${project}`, scopes: ['read'], project }),
    });
    if (response.status !== 201) throw new Error(`POST /v1/keys answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { token: string }).token;
  }

  /** The path of page `pages` of a list (following each page's nextCursor), or null when it is shorter. */
  async followCursors(path: string, key: Case['key'], pages: number): Promise<string | null> {
    let current = path;
    for (let page = 1; page < pages; page++) {
      const { nextCursor } = JSON.parse((await this.get(current, key)) as string) as { nextCursor: string | null };
      if (!nextCursor) return null;
      current = `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(nextCursor)}`;
    }
    return current;
  }
}

/** The plan as EXPLAIN (ANALYZE, BUFFERS) prints it (lines clipped), and its execution time. */
async function explain(pg: Client, sql: string, params: unknown[]): Promise<{ text: string; ms: number }> {
  try {
    const { rows } = await pg.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, params);
    const lines = rows.map((r) => r['QUERY PLAN'] as string);
    const execution = lines.map((l) => /^Execution Time: ([\d.]+) ms/.exec(l)).find(Boolean);
    return { text: lines.map((l) => `    ${clip(l, 200)}`).join('\n'), ms: execution ? Number(execution[1]) : 0 };
  } catch (error) {
    return { text: `    (EXPLAIN failed: ${(error as Error).message})`, ms: 0 };
  }
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const ms = (value: number) => `${value.toFixed(1).padStart(6)}ms`;

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
