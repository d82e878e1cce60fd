// `npm run bench:big-run`: what a run with millions of metric points costs the database when it
// resumes and when it is deleted. A resumed attempt supersedes the points its lost predecessor
// wrote past the checkpoint (`MetricsRepository.supersedeAfter`: the points go, the run's
// summaries are rebuilt) in the fenced transaction that opens the resume, under the database's
// statement bound; deleting the run (`RunHousekeepingRepository.delete`) takes its points in
// batches in one transaction. A fresh PostgreSQL database, one run of --points points over
// --metrics metrics; --rounds supersedes of the last --superseded steps of each metric (putting
// them back between rounds), then the run finished and deleted. A script, not a test.
import { parseArgs } from 'node:util';
import { AttemptsRepository, MetricsRepository, RunHousekeepingRepository } from '@trainyard/db';
import { withBenchDatabase } from './bench-database';
import { deriveRollupsAndSummaries, METRIC_NAMES, timedStep } from './queries-dataset';
import { percentile } from './percentiles';
import { positiveIntegerFlags } from './positive-flags';
import { machineLine } from './machine-line';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      points: { type: 'string', default: '4000000' },
      metrics: { type: 'string', default: '10' },
      superseded: { type: 'string', default: '999' },
      rounds: { type: 'string', default: '5' },
    },
  });
  const { points, metrics, superseded, rounds } = positiveIntegerFlags(values);
  if (metrics > METRIC_NAMES.length) throw new Error(`--metrics is at most ${METRIC_NAMES.length}`);
  const steps = Math.floor(points / metrics);
  if (superseded >= steps) throw new Error(`--superseded must be below the steps per metric (${steps})`);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(machineLine('big-run'));

  await withBenchDatabase(async ({ database, pg, runs, newRun }) => {
    const runId = await newRun();
    const { attempt } = await new AttemptsRepository(database.prisma).openCurrent(runId, null);
    const fence = { runId, attemptId: attempt.id };
    const names = METRIC_NAMES.slice(0, metrics);
    // One NaN in one metric, as a diverged step leaves: its block is read point by point.
    const insertSteps = (from: number, to: number) => `
      INSERT INTO "metric_points" ("run_id", "attempt_id", "name", "step", "epoch", "value", "wall_time")
      SELECT '${runId}'::uuid, '${attempt.id}'::uuid, n.name, s, s / 1000,
        CASE WHEN n.name = 'grad_norm' AND s = 1234 THEN 'NaN'::float8 ELSE 1.0 / (1 + s / 1000.0) + random() * 0.05 END, now()
      FROM unnest(ARRAY[${names.map((n) => `'${n}'`).join(',')}]) n(name), generate_series(${from}, ${to}) s`;

    log(`loading ${(steps * metrics).toLocaleString()} points (${metrics} metrics × ${steps.toLocaleString()} steps)…`);
    await pg.query('ALTER TABLE "metric_points" DISABLE TRIGGER USER');
    await timedStep(pg, log)('points', insertSteps(0, steps - 1));
    await deriveRollupsAndSummaries(pg, log);
    await timedStep(pg, log)('VACUUM ANALYZE', 'VACUUM ANALYZE');

    const repository = new MetricsRepository(database.prisma);
    const checkpointStep = steps - 1 - superseded;
    const times: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const started = process.hrtime.bigint();
      const removed = await repository.supersedeAfter(fence, checkpointStep);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (removed !== superseded * metrics)
        throw new Error(`superseded ${removed} points, expected ${superseded * metrics}`);
      // As the resumed attempt writes them again (the triggers keep the rollups).
      await pg.query(insertSteps(checkpointStep + 1, steps - 1));
    }
    times.sort((a, b) => a - b);
    log(
      `supersedeAfter: ${(superseded * metrics).toLocaleString()} of ${(steps * metrics).toLocaleString()} points past the checkpoint, ` +
        `${rounds} rounds: p50 ${percentile(times, 50).toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms`,
    );
    await runs.finish(runId, 'SUCCEEDED');
    const started = process.hrtime.bigint();
    const deleted = await new RunHousekeepingRepository(database.prisma).delete(runId);
    const deleteMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (deleted.outcome !== 'deleted') throw new Error(`the run was not deleted: ${JSON.stringify(deleted)}`);
    log(
      `deleting the run (its ${(steps * metrics).toLocaleString()} points in batches): ${(deleteMs / 1000).toFixed(1)} s`,
    );
  });
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
