// `npm run bench:compaction`: what compacting ended runs' metric points (MetricCompactionRepository,
// a step of the live workers' reconciler pass) frees and costs. A fresh PostgreSQL database, --runs
// ended runs of --metrics metrics over --steps steps each; the sizes of metric_points (pg_table_size,
// pg_indexes_size) after VACUUM ANALYZE; then reconciler-sized passes (COMPACT_RUNS_PER_PASS runs,
// COMPACT_POINTS_PER_PASS points) until none is left, each timed; the sizes again after VACUUM (the
// space freed is reused by new points, not given back), after a new run's points are written into it,
// after REINDEX CONCURRENTLY (the indexes keep their size until rebuilt) and after VACUUM FULL (what
// the kept points take). Checks that summaries and rollups are unchanged.
// A script, not a test.
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import type { RunSpec } from '@trainyard/contracts';
import {
  COMPACT_POINTS_PER_PASS,
  COMPACT_RUNS_PER_PASS,
  MetricCompactionRepository,
  openDatabase,
  ROLLUP_BLOCK,
  RunsRepository,
} from '@trainyard/db';
import { createFreshDatabase } from '@trainyard/db/testing';
import { deriveRollupsAndSummaries, METRIC_NAMES } from './queries-dataset';
import { positiveIntegerFlags } from './positive-flags';

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
  log(
    `bench:compaction on ${cpus().length} CPU(s) (${cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${new Date().toISOString()}`,
  );

  const fresh = await createFreshDatabase();
  const database = await openDatabase({ url: fresh.url, embeddedPath: '' }, { migrate: true });
  const pg = new Client({ connectionString: fresh.url });
  await pg.connect();
  try {
    const spec = { kind: 'pretrain', name: 'bench' } as unknown as RunSpec;
    const runs = new RunsRepository(database.prisma);
    const names = METRIC_NAMES.slice(0, metrics);
    const newRun = async () =>
      (await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'bench', spec, baseRunId: null })).id;
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
      const { rows } = await pg.query<{ n: string; table: string; indexes: string; rollups: string; each: string }>(`
        SELECT (SELECT count(*) FROM "metric_points")::text AS n,
          (SELECT string_agg(i.indexrelid::regclass::text || ' ' || round(pg_relation_size(i.indexrelid) / 1e6, 1) || ' MB', ', ' ORDER BY 1)
           FROM pg_index i WHERE i.indrelid = 'metric_points'::regclass) AS each,
          pg_table_size('metric_points')::text AS "table", pg_indexes_size('metric_points')::text AS indexes,
          pg_total_relation_size('metric_rollups')::text AS rollups`);
      const r = rows[0]!;
      const mb = (b: string) => `${(Number(b) / 1e6).toFixed(1)} MB`;
      log(
        `${what}: ${Number(r.n).toLocaleString()} points, metric_points ${mb(r.table)} table + ${mb(r.indexes)} indexes ` +
          `(${((Number(r.table) + Number(r.indexes)) / Math.max(1, Number(r.n))).toFixed(0)} bytes a point: ${r.each}); metric_rollups ${mb(r.rollups)} in all`,
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
    await pg.query('ALTER TABLE "metric_points" DISABLE TRIGGER USER');
    await insertRun(await newRun());
    await pg.query('ALTER TABLE "metric_points" ENABLE TRIGGER USER');
    await sizes(`after, one more run of ${(metrics * steps).toLocaleString()} points written`);
    // B-tree pages are reused only once empty, and compaction leaves a few entries in each: the
    // indexes keep their size (new runs' keys go to new pages) until they are rebuilt.
    let started = performance.now();
    await pg.query('REINDEX TABLE CONCURRENTLY "metric_points"');
    log(`REINDEX TABLE CONCURRENTLY "metric_points": ${(performance.now() - started).toFixed(0)} ms`);
    await sizes('after, REINDEX CONCURRENTLY');
    started = performance.now();
    await pg.query('VACUUM FULL "metric_points"');
    log(`VACUUM FULL "metric_points": ${(performance.now() - started).toFixed(0)} ms`);
    await sizes('after, VACUUM FULL');
  } finally {
    await pg.end();
    await database.close();
    await fresh.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
