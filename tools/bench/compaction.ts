// `npm run bench:compaction`: what compacting ended runs' metric points (MetricCompactionRepository,
// a step of the live workers' reconciler pass) frees and costs. A fresh PostgreSQL database, --runs
// ended runs of --metrics metrics over --steps steps each; the sizes of metric_points (pg_table_size,
// pg_indexes_size, each index) and compacted_metric_points after VACUUM ANALYZE; then reconciler-sized
// passes (COMPACT_RUNS_PER_PASS runs, COMPACT_POINTS_PER_PASS points) until none is left, each timed;
// the sizes again after VACUUM (the space freed is reused by new points, not given back) and after as
// many new points are written again (--runs new runs, after a second VACUUM, as autovacuum's next
// pass): metric_points' table and indexes should stay near their first size, not double. Then a series read both ways on one new run (--metrics × --steps
// points) and one compacted run: MetricsRepository.seriesPages over run_metric_points (what readers
// read) against the same keyset pages of metric_points alone (what they read before), with the plan
// of a page. Checks that summaries and rollups are unchanged.
// A script, not a test.
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { METRIC_POINTS_PAGE as PAGE } from '@trainyard/api-app';
import {
  COMPACT_POINTS_PER_PASS,
  COMPACT_RUNS_PER_PASS,
  MetricCompactionRepository,
  MetricsRepository,
  ROLLUP_BLOCK,
  seriesPageStatement,
  type Database,
} from '@trainyard/db';
import { withBenchDatabase } from './bench-database';
import { deriveRollupsAndSummaries, METRIC_NAMES } from './queries-dataset';
import { positiveIntegerFlags } from './positive-flags';
import { machineLine } from './machine-line';

const DAY_MS = 86_400_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '10' },
      metrics: { type: 'string', default: '10' },
      steps: { type: 'string', default: '10000' },
    },
  });
  const { runs: runCount, metrics, steps } = positiveIntegerFlags(values);
  if (metrics > METRIC_NAMES.length) throw new Error(`--metrics is at most ${METRIC_NAMES.length}`);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(machineLine('compaction'));

  await withBenchDatabase(async ({ database, pg, newRun }) => {
    const names = METRIC_NAMES.slice(0, metrics);
    // A falling curve with noise, as training logs, and a spike now and then.
    const insertRun = (runId: string) =>
      pg.query(`
        INSERT INTO "metric_points" ("run_id", "name", "step", "epoch", "value", "wall_time")
        SELECT '${runId}'::uuid, n.name, s, s / 1000,
          CASE WHEN s % 997 = 0 THEN 10 ELSE 1.0 / (1 + s / 1000.0) + random() * 0.05 END, now()
        FROM unnest(ARRAY[${names.map((n) => `'${n}'`).join(',')}]) n(name), generate_series(0, ${steps - 1}) s`);

    const points = runCount * metrics * steps;
    log(
      `loading ${points.toLocaleString()} points (${runCount} runs × ${metrics} metrics × ${steps.toLocaleString()} steps)…`,
    );
    await pg.query('ALTER TABLE "metric_points" DISABLE TRIGGER USER');
    const ids: string[] = [];
    for (let i = 0; i < runCount; i++) {
      const id = await newRun();
      await insertRun(id);
      ids.push(id);
    }
    await deriveRollupsAndSummaries(pg, log);
    // Ended 40 to 40 + runs minutes ago days: all due at the default 30 days, the oldest first.
    for (const [i, id] of ids.entries())
      await pg.query(`UPDATE "runs" SET "status" = 'SUCCEEDED', "ended_at" = $2 WHERE "id" = $1`, [
        id,
        new Date(Date.now() - 40 * DAY_MS - (runCount - i) * 60_000),
      ]);

    const sizes = async (what: string) => {
      const { rows } = await pg.query<{
        n: string;
        kept: string;
        table: string;
        indexes: string;
        compacted: string;
        rollups: string;
        each: string;
      }>(`
        SELECT (SELECT count(*) FROM "metric_points")::text AS n, (SELECT count(*) FROM "compacted_metric_points")::text AS kept,
          (SELECT string_agg(i.indexrelid::regclass::text || ' ' || round(pg_relation_size(i.indexrelid) / 1e6, 1) || ' MB', ', ' ORDER BY 1)
           FROM pg_index i WHERE i.indrelid = 'metric_points'::regclass) AS each,
          pg_table_size('metric_points')::text AS "table", pg_indexes_size('metric_points')::text AS indexes,
          pg_total_relation_size('compacted_metric_points')::text AS compacted,
          pg_total_relation_size('metric_rollups')::text AS rollups`);
      const r = rows[0]!;
      const mb = (b: string) => `${(Number(b) / 1e6).toFixed(1)} MB`;
      log(
        `${what}: ${Number(r.n).toLocaleString()} points, metric_points ${mb(r.table)} table + ${mb(r.indexes)} indexes ` +
          `(${((Number(r.table) + Number(r.indexes)) / Math.max(1, Number(r.n))).toFixed(0)} bytes a point: ${r.each}); ` +
          `compacted_metric_points ${Number(r.kept).toLocaleString()} points, ${mb(r.compacted)} in all; metric_rollups ${mb(r.rollups)} in all`,
      );
    };
    const fingerprint = async () =>
      (
        await pg.query<{ f: string }>(`
          SELECT md5(coalesce((SELECT string_agg(r::text, ',' ORDER BY r."run_id", r."name", r."block") FROM "metric_rollups" r), '')) ||
            md5(coalesce((SELECT string_agg(s::text, ',' ORDER BY s."run_id", s."name") FROM "metric_summaries" s), '')) AS f`)
      ).rows[0]!.f;

    await pg.query('VACUUM ANALYZE "metric_points"');
    await sizes('before');
    const before = await fingerprint();

    const compaction = new MetricCompactionRepository(database.prisma);
    const endedBefore = new Date(Date.now() - 30 * DAY_MS);
    const passTimes: number[] = [];
    let deletedInAll = 0;
    for (let pass = 1; ; pass++) {
      const started = performance.now();
      const due = await compaction.awaitingCompaction(endedBefore, COMPACT_RUNS_PER_PASS);
      if (due.length === 0) break;
      let deleted = 0;
      let compacted = 0;
      for (const { id } of due) {
        const budget = COMPACT_POINTS_PER_PASS - deleted;
        if (budget < ROLLUP_BLOCK) break;
        const done = await compaction.compactRun(id, endedBefore, budget);
        deleted += done.deleted;
        if (done.outcome === 'compacted') compacted += 1;
      }
      const ms = performance.now() - started;
      passTimes.push(ms);
      deletedInAll += deleted;
      log(
        `pass ${pass}: ${compacted} runs compacted, ${deleted.toLocaleString()} points deleted in ${ms.toFixed(0)} ms`,
      );
    }
    log(
      `${passTimes.length} passes (${COMPACT_RUNS_PER_PASS} runs, ${COMPACT_POINTS_PER_PASS.toLocaleString()} points at most each) ` +
        `deleted ${deletedInAll.toLocaleString()} of ${points.toLocaleString()} points ` +
        `(${((100 * deletedInAll) / points).toFixed(1)}%) in ${passTimes.reduce((a, b) => a + b, 0).toFixed(0)} ms`,
    );
    log(`summaries and rollups ${(await fingerprint()) === before ? 'unchanged' : 'CHANGED'}`);

    await pg.query('VACUUM ANALYZE "metric_points"');
    await sizes('after, VACUUM (the space is kept for new points)');
    // A B-tree page a VACUUM emptied and deleted goes to the index's free space map once no
    // transaction can still see it: at the end of that VACUUM if the database has moved on since,
    // else at the next one. Autovacuum runs again long before a compacted month is written over again.
    await pg.query('VACUUM "metric_points"');
    // As many points again, as new runs (their keys sort among the compacted runs' by run id).
    await pg.query('ALTER TABLE "metric_points" DISABLE TRIGGER USER');
    const newIds: string[] = [];
    for (let i = 0; i < runCount; i++) {
      const id = await newRun();
      await insertRun(id);
      newIds.push(id);
    }
    await pg.query('ALTER TABLE "metric_points" ENABLE TRIGGER USER');
    await deriveRollupsAndSummaries(pg, () => undefined);
    await pg.query('VACUUM ANALYZE "metric_points"');
    await sizes(`after, ${points.toLocaleString()} points written again (${runCount} new runs)`);

    await readSeries(database, pg, newIds[0]!, log, 'a new run');
    await readSeries(database, pg, ids[0]!, log, 'a compacted run');
  });
}

/**
 * Every series of `runId` in keyset pages of METRIC_POINTS_PAGE, five times each way, the median,
 * through the same connection: MetricsRepository's page statement (metric_points and
 * kept_metric_points, each to the page's length, merged) against the page of metric_points alone
 * that it replaced; then the repository's own walk (seriesPages, Prisma and the views included), and
 * the plan of a page.
 */
async function readSeries(
  database: Database,
  pg: Client,
  runId: string,
  log: (line: string) => void,
  what: string,
): Promise<void> {
  const metrics = new MetricsRepository(database.prisma);
  const names = (await metrics.seriesExtents(runId)).map((e) => e.name);
  const before = (name: string, after: number | null): { text: string; values: unknown[] } => ({
    text: `SELECT p."id", p."run_id"::text AS "runId", p."attempt_id"::text AS "attemptId", p."name", p."step",
        p."epoch", p."value", p."wall_time" AS "wallTime" FROM "metric_points" p
      WHERE p."run_id" = $1::uuid AND p."name" = $2 ${after === null ? '' : 'AND p."step" > $4::int4'} ORDER BY p."step" LIMIT $3::int4`,
    values: after === null ? [runId, name, PAGE] : [runId, name, PAGE, after],
  });
  const now = (name: string, after: number | null) => seriesPageStatement(runId, name, after, PAGE);
  const walk = (statement: typeof before) => async () => {
    let n = 0;
    for (const name of names) {
      let after: number | null = null;
      for (;;) {
        const { text, values } = statement(name, after);
        const { rows } = await pg.query<{ step: number }>(text, values);
        n += rows.length;
        if (rows.length < PAGE) break;
        after = rows.at(-1)!.step;
      }
    }
    return n;
  };
  const repository = async () => {
    let n = 0;
    for await (const page of metrics.seriesPages(runId, undefined, PAGE)) n += page.length;
    return n;
  };
  const median = async (read: () => Promise<number>) => {
    const times: number[] = [];
    let n = 0;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      n = await read();
      times.push(performance.now() - started);
    }
    return `${n.toLocaleString()} points in ${times.sort((a, b) => a - b)[2]!.toFixed(1)} ms`;
  };
  log(
    `series of ${what}, pages of ${PAGE}: metric_points alone (before) ${await median(walk(before))}; ` +
      `metric_points and kept_metric_points ${await median(walk(now))}; seriesPages ${await median(repository)}`,
  );
  const page = now(names[0]!, 100);
  const { rows } = await pg.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${page.text}`,
    page.values,
  );
  log(`a page's plan:\n${rows.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
