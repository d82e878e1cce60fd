// `npm run bench:queries`: the dashboard's queries at scale (100,000 runs, 10,000,000 metric
// points in a fresh PostgreSQL database), with p50/p95/p99 against the targets, the
// ingest rate through MetricsRepository.writeFenced, and the EXPLAIN plans. A script, not a test.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Client } from 'pg';
import {
  downsampledSeriesStatement,
  MetricsRepository,
  RunsRepository,
  openDatabase,
  type Database,
  type Fence,
  type MetricPointInput,
  type RunListQuery,
} from '@trainyard/db';
import { createFreshDatabase } from '@trainyard/db/testing';
import { RunHistoryService } from '@trainyard/api-app';
import { BIG_RUN, loadDataset, longRunId } from './queries-dataset';
import { measure, percentile } from './percentiles';
import { machineLine } from './machine-line';

const ITERATIONS = Number(process.env['BENCH_ITERATIONS'] ?? 200);
const KEEP = process.env['BENCH_KEEP_DB'] === '1';
// BENCH_ONLY=ingest skips the 10 M-point load and the query cases (minutes) to measure the write path alone.
const INGEST_ONLY = process.env['BENCH_ONLY'] === 'ingest';

const listQuery: RunListQuery = {
  status: 'SUCCEEDED',
  spec: [{ path: ['training', 'learningRate'], value: 0.001 }],
  sort: { by: 'metric', metric: 'val_accuracy', stat: 'best' },
  order: 'desc',
  limit: 50,
};

async function main(): Promise<void> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(machineLine('queries', false));
  const fresh = await createFreshDatabase();
  const database = await openDatabase({ url: fresh.url, embeddedPath: '' }, { migrate: true });
  const pg = new Client({ connectionString: fresh.url });
  await pg.connect();
  try {
    log(`PostgreSQL ${(await pg.query('SHOW server_version')).rows[0].server_version}`);
    const prisma = database.prisma;
    if (!INGEST_ONLY) await queryCases(pg, database, log);
    log('');
    for (const [batch, writers, perRun] of [
      [1000, 1, 50_000],
      [5000, 1, 50_000],
      [1000, 4, 50_000],
      [1000, 4, 5_000],
      [5000, 4, 5_000],
    ] as const) {
      const { rate, nodeUs, pgUs } = await ingestRate(new MetricsRepository(prisma), pg, batch, writers, perRun);
      log(
        `ingest through MetricsRepository.writeFenced, ${batch}-point batches, ${writers} writer(s), ${perRun.toLocaleString()} points per run: ${Math.round(rate).toLocaleString()} points/s  ${rate >= 100_000 ? '(≥ 100,000: met)' : '(≥ 100,000: MISSED)'}  CPU per point: node ${nodeUs.toFixed(1)} µs, PostgreSQL ${pgUs.toFixed(1)} µs  (load average ${loadavg()[0]!.toFixed(1)})`,
      );
    }
  } finally {
    await pg.end();
    await database.close();
    if (KEEP) log(`\nkept the database: ${fresh.url}`);
    else await fresh.drop();
  }
}

/** The dashboard's queries over the loaded dataset: percentiles against the targets, then the plans. */
async function queryCases(pg: Client, database: Database, log: (line: string) => void): Promise<void> {
  log('loading…');
  const loadStarted = Date.now();
  await loadDataset(pg, log);
  const counts = (
    await pg.query(
      `SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM metric_points)::int AS points, (SELECT count(*) FROM metric_rollups)::int AS rollups`,
    )
  ).rows[0];
  log(
    `loaded ${counts.runs.toLocaleString()} runs, ${counts.points.toLocaleString()} points (${counts.rollups.toLocaleString()} rollup rows) in ${((Date.now() - loadStarted) / 1000).toFixed(0)} s\n`,
  );

  const runs = new RunsRepository(database.prisma);
  const metrics = new MetricsRepository(database.prisma);
  const service = new RunHistoryService(runs, metrics);
  const bigExtent = (await metrics.seriesExtents(BIG_RUN, ['loss']))[0]!;
  const compareIds = Array.from({ length: 10 }, (_, i) => longRunId(i));
  const cases: { name: string; target: number | null; run: () => Promise<unknown> }[] = [
    {
      name: 'runs list: best val_accuracy, status + spec.training.learningRate filter, 50 rows',
      target: 50,
      run: () => runs.list(listQuery),
    },
    {
      name: 'runs list: same, page 2 (keyset cursor)',
      target: 50,
      run: async () => runs.list({ ...listQuery, cursor: (await runs.list(listQuery)).nextCursor ?? undefined }),
    },
    {
      name: 'one run: 1,000,000-point series → ≤ 1,000 points',
      target: 150,
      run: async () => metrics.downsampledSeries(BIG_RUN, (await metrics.seriesExtents(BIG_RUN, ['loss']))[0]!, 1000),
    },
    {
      name: 'compare: 10 runs × loss (100,000 points each) → ≤ 1,000 each',
      target: null,
      run: () => service.compare({ ids: compareIds, names: ['loss', 'val_loss'], maxPoints: 1000 }, undefined),
    },
  ];
  const sample = await metrics.downsampledSeries(BIG_RUN, bigExtent, 1000);
  log(
    `series check: ${sample.length} points of ${bigExtent.count.toLocaleString()}, spike at step 777777 kept: ${sample.some((p) => p.step === 777_777 && (p.value ?? 0) > 40)}`,
  );

  log(`\n${'query'.padEnd(84)} ${'p50'.padStart(8)} ${'p95'.padStart(8)} ${'p99'.padStart(8)}  target`);
  for (const c of cases) {
    const times = await measure(c.run, ITERATIONS);
    const p95 = percentile(times, 95);
    const verdict =
      c.target === null ? '' : p95 < c.target ? `p95 < ${c.target} ms: met` : `p95 < ${c.target} ms: MISSED`;
    log(`${c.name.padEnd(84)} ${ms(percentile(times, 50))} ${ms(p95)} ${ms(percentile(times, 99))}  ${verdict}`);
  }

  log('\nEXPLAIN (ANALYZE, BUFFERS) of the list query (phase 1):');
  log(
    await explain(
      pg,
      `SELECT r."id"::text AS id, s."best"::text AS value FROM "metric_summaries" s JOIN "runs" r ON r."id" = s."run_id"
      WHERE s."name" = 'val_accuracy' AND r."status" = 'SUCCEEDED'::"RunStatus" AND r."spec" @> '{"training":{"learningRate":0.001}}'::jsonb
      ORDER BY s."best" DESC, s."run_id" DESC LIMIT 51`,
    ),
  );
  log('\nEXPLAIN (ANALYZE, BUFFERS) of the series query (rollup path, 499 buckets of 8 blocks):');
  // The statement MetricsRepository.downsampledSeries runs, not a copy of it.
  const series = downsampledSeriesStatement(BIG_RUN, bigExtent, 1000)!;
  log(await explain(pg, series.text, series.values));
}

/**
 * Points per second written through the workers' code path, `MetricsRepository.writeFenced` (each
 * run has a current attempt, as a worker's run does; points append, summaries and rollups merged,
 * one transaction per batch) into fresh runs, 50,000 points per writer. A warm-up first (JIT,
 * pool connections), as a long-running worker would be. Also the CPU each point cost this process
 * and the database's backends (from /proc), which a loaded machine changes less than the rate.
 */
async function ingestRate(
  metrics: MetricsRepository,
  pg: Client,
  batch: number,
  writers: number,
  perRun: number,
): Promise<{ rate: number; nodeUs: number; pgUs: number }> {
  const perWriter = 50_000;
  const newRun = async () => {
    const [runId, attemptId] = [randomUUID(), randomUUID()];
    await pg.query(`INSERT INTO runs (id, kind, name, spec) VALUES ($1, 'FINETUNE', 'ingest', '{}')`, [runId]);
    await pg.query(`INSERT INTO attempts (id, run_id, number) VALUES ($1, $2, 1)`, [attemptId, runId]);
    await pg.query(`UPDATE runs SET current_attempt_id = $1 WHERE id = $2`, [attemptId, runId]);
    return { runId, attemptId };
  };
  const points = (from: number, size: number): MetricPointInput[] =>
    Array.from({ length: size }, (_, i) => ({
      name: i % 2 ? 'loss' : 'accuracy',
      step: from + i,
      epoch: 0,
      value: Math.random(),
      wallTime: new Date(),
    }));
  const warm = await newRun();
  await Promise.all(Array.from({ length: writers }, (_, w) => metrics.writeFenced(warm, points(w * 1_000_000, batch))));
  for (let from = 0; from < 20_000; from += batch) await metrics.writeFenced(warm, points(10_000_000 + from, batch));

  const runs: Fence[][] = [];
  for (let w = 0; w < writers; w++) {
    const fences: Fence[] = [];
    for (let r = 0; r < perWriter / perRun; r++) fences.push(await newRun());
    runs.push(fences);
  }
  const backends = (
    await pg.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
  ).rows.map((r) => r.pid as number);
  const pgCpu0 = backendCpuMs(backends);
  const cpu0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(
    runs.map(async (fences) => {
      for (const fence of fences) {
        for (let from = 0; from < perRun; from += batch) await metrics.writeFenced(fence, points(from, batch));
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const total = perWriter * writers;
  return {
    rate: total / seconds,
    nodeUs: (cpu.user + cpu.system) / total,
    pgUs: ((backendCpuMs(backends) - pgCpu0) * 1000) / total,
  };
}

/** CPU time (user + system) of these PostgreSQL backends so far, in ms, from /proc (same machine); NaN if unreadable. */
function backendCpuMs(pids: number[]): number {
  const tick = 10; // ms per clock tick (USER_HZ 100 on Linux)
  let total = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * tick;
    } catch {
      return NaN;
    }
  }
  return total;
}

async function explain(pg: Client, sql: string, params: unknown[] = []): Promise<string> {
  const { rows } = await pg.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, params);
  return rows.map((r) => `    ${r['QUERY PLAN']}`).join('\n');
}

const ms = (value: number) => `${value.toFixed(1).padStart(6)}ms`;

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
