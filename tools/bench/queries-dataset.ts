import type { Client } from 'pg';
import { ROLLUP_BLOCK } from '@trainyard/db';

/** What the benchmark database holds; sizes are the (100,000 runs, 10,000,000 points). */
export const DATASET = {
  runs: 100_000,
  /** Every run has val_loss and val_accuracy per epoch: 100,000 × 2 × 20 = 4,000,000 points. */
  epochsPerRun: 20,
  /** One run with a 1,000,000-point `loss` series (the downsampling case). */
  bigSeriesPoints: 1_000_000,
  /** 50 runs with 100,000-point `loss` series (the compare case): 5,000,000 points. */
  longRuns: 50,
  longRunPoints: 100_000,
} as const;

/** The metrics a run of the point-heavy benches (big-run, compaction) logs, `--metrics` of them. */
export const METRIC_NAMES = [
  'loss',
  'val_loss',
  'accuracy',
  'val_accuracy',
  'precision',
  'recall',
  'f1',
  'lr',
  'grad_norm',
  'mse',
];

export const LEARNING_RATES = [0.0001, 0.0003, 0.001, 0.003, 0.01];
export const runId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
export const BIG_RUN = runId(0);
export const longRunId = (i: number) => runId(1 + i);

const ROLLUP_SELECT = `
  SELECT p."run_id", p."name", p."step" / ${ROLLUP_BLOCK}, count(*)::int4, min(p."step"), max(p."step"),
    (array_agg(p."value" ORDER BY p."step" DESC))[1],
    (array_agg(p."step" ORDER BY p."value" ASC, p."step" ASC))[1], min(p."value"),
    (array_agg(p."step" ORDER BY p."value" DESC, p."step" ASC))[1], max(p."value")
  FROM "metric_points" p GROUP BY p."run_id", p."name", p."step" / ${ROLLUP_BLOCK}`;

/**
 * Bulk-loads the dataset server-side (INSERT … SELECT over generate_series: no row crosses the
 * wire). The rollup triggers are off during the load and the rollups and summaries are then built
 * in one pass each, exactly as the triggers and MetricsRepository would have left them.
 */
export async function loadDataset(pg: Client, log: (line: string) => void): Promise<void> {
  const step = timedStep(pg, log);
  await step(
    `${DATASET.runs.toLocaleString()} runs`,
    `INSERT INTO "runs" ("id", "kind", "status", "name", "spec", "backend", "created_at", "started_at", "ended_at")
     SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid,
       (CASE WHEN i % 4 = 0 THEN 'PRETRAIN' ELSE 'FINETUNE' END)::"RunKind",
       (CASE WHEN i % 10 < 7 THEN 'SUCCEEDED' WHEN i % 10 = 7 THEN 'FAILED' WHEN i % 10 = 8 THEN 'RUNNING' ELSE 'QUEUED' END)::"RunStatus",
       'run ' || i || ' ' || (ARRAY['cats','dogs','shapes','digits'])[1 + i % 4],
       jsonb_build_object('kind', CASE WHEN i % 4 = 0 THEN 'pretrain' ELSE 'finetune' END,
         'model', jsonb_build_object('type', CASE WHEN i % 4 = 0 THEN 'conv-autoencoder' ELSE 'classifier' END, 'filters', jsonb_build_array(16, 32)),
         'dataset', jsonb_build_object('name', 'synthetic-shapes'),
         'training', jsonb_build_object('epochs', 20, 'batchSize', 32, 'optimizer', 'adam',
           'learningRate', (ARRAY[${LEARNING_RATES.join(',')}])[1 + (i / 4) % 5], 'seed', i)),
       'wasm', now() - make_interval(secs => ${DATASET.runs} - i), now() - make_interval(secs => ${DATASET.runs} - i), now()
     FROM generate_series(0, ${DATASET.runs - 1}) i`,
  );
  await pg.query('ALTER TABLE "metric_points" DISABLE TRIGGER USER');
  await step(
    `${(DATASET.runs * DATASET.epochsPerRun * 2).toLocaleString()} epoch points (val_loss, val_accuracy)`,
    `INSERT INTO "metric_points" ("run_id", "name", "step", "epoch", "value", "wall_time")
     SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, n.name, e * 100, e,
       CASE WHEN n.name = 'val_loss' THEN 2.0 / (1 + e) + random() * 0.1 ELSE 0.5 + 0.45 * (e / 20.0) * random() END, now()
     FROM generate_series(0, ${DATASET.runs - 1}) i, generate_series(1, ${DATASET.epochsPerRun}) e, (VALUES ('val_loss'), ('val_accuracy')) n(name)`,
  );
  await step(
    `${DATASET.bigSeriesPoints.toLocaleString()}-point loss series of one run`,
    `INSERT INTO "metric_points" ("run_id", "name", "step", "epoch", "value", "wall_time")
     SELECT '${BIG_RUN}'::uuid, 'loss', s, s / 10000, 2.0 / (1 + s / 50000.0) + random() * 0.05 + CASE WHEN s = 777777 THEN 40 ELSE 0 END, now()
     FROM generate_series(0, ${DATASET.bigSeriesPoints - 1}) s`,
  );
  await step(
    `${(DATASET.longRuns * DATASET.longRunPoints).toLocaleString()} points of ${DATASET.longRuns} long runs`,
    `INSERT INTO "metric_points" ("run_id", "name", "step", "epoch", "value", "wall_time")
     SELECT ('00000000-0000-4000-8000-' || lpad((1 + r)::text, 12, '0'))::uuid, 'loss', s, s / 5000, 2.0 / (1 + s / 5000.0) + random() * 0.05, now()
     FROM generate_series(0, ${DATASET.longRuns - 1}) r, generate_series(0, ${DATASET.longRunPoints - 1}) s`,
  );
  await deriveRollupsAndSummaries(pg, log);
  await step('VACUUM ANALYZE', 'VACUUM ANALYZE');
}

/** Runs one statement, logging how long it took. */
export function timedStep(pg: Client, log: (line: string) => void) {
  return async (what: string, sql: string) => {
    const started = Date.now();
    await pg.query(sql);
    log(`  ${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
}

/**
 * After a load with the rollup triggers off (`ALTER TABLE "metric_points" DISABLE TRIGGER USER`):
 * turns them back on and builds every run's rollups and summaries in one pass each, as the
 * triggers and MetricsRepository would have left them.
 */
export async function deriveRollupsAndSummaries(pg: Client, log: (line: string) => void): Promise<void> {
  const step = timedStep(pg, log);
  await pg.query('ALTER TABLE "metric_points" ENABLE TRIGGER USER');
  await step(
    'metric_rollups (one GROUP BY)',
    `INSERT INTO "metric_rollups" ("run_id", "name", "block", "count", "first_step", "last_step", "last_value", "min_step", "min_value", "max_step", "max_value") ${ROLLUP_SELECT}`,
  );
  await step(
    'metric_summaries (one GROUP BY)',
    `INSERT INTO "metric_summaries" ("run_id", "name", "goal", "count", "last", "last_step", "min", "max", "best", "best_step")
     SELECT p."run_id", p."name", CASE WHEN p."name" LIKE '%loss%' THEN 'min' ELSE 'max' END, count(*)::int4,
       (array_agg(p."value" ORDER BY p."step" DESC))[1], max(p."step"), min(p."value"), max(p."value"),
       CASE WHEN p."name" LIKE '%loss%' THEN min(p."value") ELSE max(p."value") END,
       CASE WHEN p."name" LIKE '%loss%' THEN (array_agg(p."step" ORDER BY p."value", p."step"))[1]
         ELSE (array_agg(p."step" ORDER BY p."value" DESC, p."step"))[1] END
     FROM "metric_points" p GROUP BY p."run_id", p."name"`,
  );
}
