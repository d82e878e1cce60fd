// `GET /metrics` timed over HTTP on bench:history's dataset (200,000 runs): 200 scrapes with
// METRICS_ENDED_RUNS_MAX_AGE_MS at its default (no base falls due among them), 200 with 500 (a few
// bases of ended runs fall due among them: the scrapes they slow, if any, are the p99 and max), 20
// with 0 (every ended run counted at each scrape), then the EXPLAIN ANALYZE of trainyard_runs' two
// statements. A script, not a test:
//   npm run bench:metrics [-- --database-url URL --mode quiet|burst --requests 200]
// seeds a fresh database and keeps it (its URL printed; drop it yourself), so another build can be
// timed on the same rows with --database-url URL. --mode burst first moves 2,500 ended runs into the
// last 5 minutes (a fleet ending 8 runs a second); --mode quiet (the default) puts them back.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { loadConfig } from '@trainyard/config';
import { openDatabase } from '@trainyard/db';
import { createFreshDatabase, testAdminKey } from '@trainyard/db/testing';
import { createApiApp } from '@trainyard/api-app';
import { DEFAULT_SIZES, loadHistory } from './history-dataset';
import { measure, percentile } from './percentiles';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'database-url': { type: 'string' },
      requests: { type: 'string', default: '200' },
      mode: { type: 'string', default: 'quiet' },
    },
  });
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const load = () =>
    `load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`;
  let url = values['database-url'];
  if (!url) {
    const fresh = await createFreshDatabase();
    url = fresh.url;
    const database = await openDatabase({ url, embeddedPath: '' }, { migrate: true });
    await database.close();
    const pg = new Client({ connectionString: url });
    await pg.connect();
    const started = Date.now();
    await loadHistory(pg, DEFAULT_SIZES, () => undefined);
    log(`seeded in ${((Date.now() - started) / 1000).toFixed(0)} s: ${url}`);
    await pg.end();
  }
  const pg = new Client({ connectionString: url });
  await pg.connect();
  const counts = (
    await pg.query(
      `SELECT count(*)::int AS runs, count(*) FILTER (WHERE ended_at >= now() - interval '6 minutes')::int AS recent FROM runs`,
    )
  ).rows[0];
  log(`${counts.runs} runs, ${counts.recent} ended in the last 6 minutes; ${load()}`);
  const requests = Number(values.requests);
  const home = mkdtempSync(join(tmpdir(), 'trainyard-bench-metrics-'));
  try {
    const cases: [string, Record<string, string>, number][] = [
      ['default (60 s)', {}, requests],
      ['METRICS_ENDED_RUNS_MAX_AGE_MS=500', { METRICS_ENDED_RUNS_MAX_AGE_MS: '500' }, requests],
      ['METRICS_ENDED_RUNS_MAX_AGE_MS=0', { METRICS_ENDED_RUNS_MAX_AGE_MS: '0' }, 20],
    ];
    // The same 2,500 ended runs (by id) either moved into the last 5 minutes, a busy fleet ending 8 a
    // second, or put back at 2 minutes after their creation.
    const moved = `id IN (SELECT id FROM runs WHERE status IN ('SUCCEEDED', 'FAILED', 'CANCELLED') AND created_at < now() - interval '3 days' ORDER BY id LIMIT 2500)`;
    if (values.mode === 'burst')
      await pg.query(`UPDATE runs SET ended_at = now() - (random() * interval '5 minutes') WHERE ${moved}`);
    else await pg.query(`UPDATE runs SET ended_at = created_at + interval '2 minutes' WHERE ${moved}`);
    await pg.query('VACUUM ANALYZE runs');
    const recent = (
      await pg.query(`SELECT count(*)::int AS n FROM runs WHERE ended_at >= now() - interval '6 minutes'`)
    ).rows[0].n;
    log(`${values.mode}: ${recent} runs ended in the last 6 minutes`);
    for (const [name, env, n] of cases) {
      const adminKey = testAdminKey();
      const app = await createApiApp(
        loadConfig({
          TRAINYARD_HOME: home,
          DATABASE_URL: url,
          LOG_LEVEL: 'error',
          TRAINYARD_ADMIN_KEY: adminKey,
          ...env,
        }),
        { queueName: `bench-metrics-${randomUUID()}`, logger: false, shutdownHooks: false, openApi: false },
      );
      await app.listen(0, '127.0.0.1');
      const base = await app.getUrl();
      const scrape = async () => {
        const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } });
        const text = await res.text();
        if (!res.ok || !text.includes('trainyard_runs{'))
          throw new Error(`scrape: ${res.status} ${text.slice(0, 200)}`);
      };
      const first = process.hrtime.bigint();
      await scrape();
      const firstMs = Number(process.hrtime.bigint() - first) / 1e6;
      const times = await measure(scrape, n, 3);
      log(
        `${name}: first scrape ${firstMs.toFixed(1)} ms; ${n} scrapes p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms, max ${times[times.length - 1]!.toFixed(1)} ms; ${load()}`,
      );
      await app.close();
    }
    const explain = async (label: string, sql: string) => {
      const { rows } = await pg.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`);
      log(`\n== ${label}\n${rows.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}`);
    };
    await explain(
      'each scrape (new): unfinished + ended since the bound',
      `SELECT "status"::text AS status, "kind"::text AS kind, count(*)::int AS n FROM "runs"
       WHERE "status" = ANY('{QUEUED,RUNNING,PREEMPTED}'::"RunStatus"[]) GROUP BY 1, 2
       UNION ALL
       SELECT "status"::text AS status, "kind"::text AS kind, count(*)::int AS n FROM "runs"
       WHERE "ended_at" >= date_trunc('milliseconds', now() - interval '6 minutes')
         AND "status" = ANY('{SUCCEEDED,FAILED,CANCELLED}'::"RunStatus"[]) GROUP BY 1, 2`,
    );
    await explain(
      'the base (new, once a minute)',
      `SELECT "status"::text AS status, "kind"::text AS kind, count(*)::int AS n FROM "runs"
       WHERE "status" = ANY('{SUCCEEDED,FAILED,CANCELLED}'::"RunStatus"[])
         AND ("ended_at" < date_trunc('milliseconds', now() - interval '5 minutes') OR "ended_at" IS NULL) GROUP BY 1, 2`,
    );
  } finally {
    await pg.end();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
