import type { Client } from 'pg';
import { deriveRollupsAndSummaries, timedStep } from './queries-dataset';

/** The sizes of a year of one team's history (`npm run bench:history -- --runs …` changes them). */
export interface HistorySizes {
  runs: number;
  datasets: number;
  pipelines: number;
  sweeps: number;
  /** Registered model names; each has 1 to 9 versions (5 on average). */
  models: number;
  /** Epochs of val_loss and val_accuracy every run that trained recorded. */
  epochs: number;
}

export const DEFAULT_SIZES: HistorySizes = {
  runs: 200_000,
  datasets: 5_000,
  pipelines: 2_000,
  sweeps: 3_000,
  models: 1_000,
  epochs: 5,
};

/** Six in ten rows are vision's, three speech's, one the default project's. */
export const PROJECTS = ['vision', 'speech', 'default'] as const;
const projectOf = (hash: string) =>
  `(ARRAY['vision','vision','vision','vision','vision','vision','speech','speech','speech','default'])[1 + abs(${hash}) % 10]`;
/** Steps per pipeline: pretrain, then two fine-tunes each followed by its evaluation (pipeline_step 0..4). */
const PIPELINE_RUNS = 5;
/** Sweeps take about 60% of the runs: as many of 50 to 200 runs as fit, then small ones of 2 to 10. */
const SWEEP_SHARE = 0.6;
const YEAR = `interval '365 days'`;

/** Run counts of each sweep, in creation order: big (50–200) while the share allows, then 2–10. */
export function sweepSizes(sizes: HistorySizes): number[] {
  const budget = Math.floor(sizes.runs * SWEEP_SHARE);
  const small = (j: number) => 2 + (j % 9);
  const out: number[] = [];
  let used = 0;
  // What the sweeps after j need at least (all of them small).
  let smallRest = Array.from({ length: sizes.sweeps }, (_, k) => small(k)).reduce((a, b) => a + b, 0);
  for (let j = 0; j < sizes.sweeps; j++) {
    smallRest -= small(j);
    const big = 50 + ((j * 37) % 151);
    const size = used + big + smallRest <= budget ? big : small(j);
    out.push(size);
    used += size;
  }
  return out;
}

/**
 * A run row from `source`, a SELECT giving id, kind, name, created (timestamptz), project, h (an
 * integer hash of the run), sweep_id, sweep_params, pipeline_id, pipeline_step, base_run_id and
 * dataset_id. Status, times, spec, tags and archiving follow from h and age: runs of the last two
 * days may still be QUEUED or RUNNING, older ones ended (75% SUCCEEDED, 15% FAILED, 10% CANCELLED).
 */
function insertRuns(source: string): string {
  return `
    INSERT INTO "runs" ("id", "kind", "status", "name", "spec", "base_run_id", "failure_reason", "progress", "result",
      "backend", "created_at", "updated_at", "started_at", "ended_at", "pipeline_id", "pipeline_step", "sweep_id",
      "sweep_params", "project", "tags", "archived_at")
    SELECT id, kind::"RunKind", st::"RunStatus", name,
      jsonb_build_object('kind', lower(kind), 'name', name,
        'model', jsonb_build_object('type', CASE kind WHEN 'PRETRAIN' THEN 'conv-autoencoder' ELSE 'classifier' END,
          'filters', jsonb_build_array(16, 32), 'latentDim', 64),
        'dataset', CASE WHEN dataset_id IS NULL THEN jsonb_build_object('name', 'mnist', 'labelsPerClass', (ARRAY[10, 100, 1000])[1 + h % 3])
          ELSE jsonb_build_object('name', 'image-folder', 'datasetId', dataset_id, 'imageShape', jsonb_build_array(64, 64, 3)) END,
        'training', jsonb_build_object('epochs', 20, 'batchSize', (ARRAY[16, 32, 64])[1 + h % 3],
          'learningRate', (ARRAY[0.0001, 0.0003, 0.001, 0.003, 0.01])[1 + (h / 3) % 5], 'seed', h % 1000),
        'resources', jsonb_build_object('accelerator', (ARRAY['any', 'gpu', 'cpu'])[1 + (h / 7) % 3])),
      base_run_id,
      CASE st WHEN 'FAILED' THEN 'training process exited with code 137 (out of memory)' END,
      CASE WHEN st IN ('RUNNING', 'SUCCEEDED') THEN jsonb_build_object('epoch', 20, 'step', 2000, 'loss', 0.05) END,
      CASE WHEN st = 'SUCCEEDED' AND kind <> 'PRETRAIN' THEN jsonb_build_object('accuracy', 0.8 + (h % 190) / 1000.0, 'macroF1', 0.8 + (h % 180) / 1000.0) END,
      CASE WHEN st <> 'QUEUED' THEN 'tfjs-node-gpu' END,
      created, created + interval '1 hour',
      CASE WHEN st <> 'QUEUED' THEN created + interval '1 minute' END,
      CASE WHEN st NOT IN ('QUEUED', 'RUNNING') THEN created + make_interval(mins => 2 + h % 120) END,
      pipeline_id, pipeline_step, sweep_id, sweep_params, project,
      CASE (h / 11) % 5 WHEN 0 THEN ARRAY[]::text[] WHEN 1 THEN ARRAY['baseline'] WHEN 2 THEN ARRAY['prod', 'v2']
        WHEN 3 THEN ARRAY['ablation'] ELSE ARRAY['v2'] END,
      CASE WHEN h % 20 = 0 AND created < now() - interval '30 days' THEN created + interval '30 days' END
    FROM (
      SELECT s.*, CASE
        WHEN s.created > now() - interval '2 days' AND s.h % 10 < 4 THEN 'QUEUED'
        WHEN s.created > now() - interval '2 days' AND s.h % 10 < 7 THEN 'RUNNING'
        WHEN s.h % 20 < 15 THEN 'SUCCEEDED' WHEN s.h % 20 < 18 THEN 'FAILED' ELSE 'CANCELLED' END AS st
      FROM (${source}) s
    ) r`;
}

/**
 * Fills an empty, migrated database with a year of history in bulk SQL (INSERT … SELECT over
 * generate_series: no row crosses the wire), then VACUUM ANALYZE. Ids are md5-derived v4 uuids,
 * so they scatter over the key space as random ones do.
 */
export async function loadHistory(pg: Client, sizes: HistorySizes, log: (line: string) => void): Promise<void> {
  const step = timedStep(pg, log);
  // Ids as the API makes them (random v4 uuids: its cursors and path checks want that shape), from md5.
  await pg.query(
    `CREATE FUNCTION pg_temp.v4(seed text) RETURNS uuid IMMUTABLE LANGUAGE sql
     AS $$ SELECT overlay(overlay(md5(seed) placing '4' from 13) placing '8' from 17)::uuid $$`,
  );
  await step(
    `${sizes.datasets.toLocaleString()} datasets (2 to 201 classes)`,
    `INSERT INTO "datasets" ("id", "name", "project", "location", "uri", "class_names", "counts", "created_at")
     SELECT pg_temp.v4('ds' || i), 'dataset-' || i, ${projectOf(`hashtext('ds' || i)`)},
       jsonb_build_object('kind', 's3', 'prefix', 'datasets/ds-' || i || '/'), 's3://trainyard/datasets/ds-' || i || '/',
       ARRAY(SELECT 'class-' || c FROM generate_series(1, 2 + i % 200) c),
       ARRAY(SELECT 40 + (c * 7) % 60 FROM generate_series(1, 2 + i % 200) c),
       now() - ${YEAR} * (1 - i::float8 / ${sizes.datasets})
     FROM generate_series(0, ${sizes.datasets - 1}) i`,
  );
  const datasetOf = (h: string) =>
    `CASE WHEN ${h} % 3 = 0 THEN pg_temp.v4('ds' || (${h} % ${sizes.datasets}))::text END`;

  await step(
    `${sizes.pipelines.toLocaleString()} pipelines`,
    `INSERT INTO "pipelines" ("id", "name", "project", "status", "spec", "failure_reason", "created_at", "updated_at", "ended_at")
     SELECT pg_temp.v4('pl' || p), 'pipeline ' || p, ${projectOf(`hashtext('pl' || p)`)},
       (CASE WHEN p > ${sizes.pipelines} - 5 THEN 'RUNNING' WHEN p % 10 < 8 THEN 'SUCCEEDED' WHEN p % 10 = 8 THEN 'FAILED' ELSE 'CANCELLED' END)::"PipelineStatus",
       jsonb_build_object('name', 'pipeline ' || p, 'pretrain', jsonb_build_object('name', 'ae'),
         'finetunes', jsonb_build_array(jsonb_build_object('name', 'ft-10'), jsonb_build_object('name', 'ft-100'))),
       CASE WHEN p % 10 = 8 THEN 'step ft-10 failed' END, t, t + interval '3 hours',
       CASE WHEN p <= ${sizes.pipelines} - 5 THEN t + interval '3 hours' END
     FROM generate_series(0, ${sizes.pipelines - 1}) p, LATERAL (SELECT now() - ${YEAR} * (1 - p::float8 / ${sizes.pipelines}) AS t) at`,
  );
  await step(
    `${(sizes.pipelines * PIPELINE_RUNS).toLocaleString()} pipeline runs`,
    insertRuns(`
      SELECT pg_temp.v4('plr' || p || '-' || k) AS id,
        (CASE WHEN k = 0 THEN 'PRETRAIN' WHEN k % 2 = 1 THEN 'FINETUNE' ELSE 'EVALUATE' END) AS kind,
        'pipeline ' || p || ' step ' || k AS name, pl."created_at" + make_interval(secs => k) AS created, pl."project",
        abs(hashtext('plr' || p || '-' || k)) AS h, NULL::uuid AS sweep_id, NULL::jsonb AS sweep_params,
        pl."id" AS pipeline_id, k AS pipeline_step,
        CASE WHEN k = 0 THEN NULL WHEN k % 2 = 1 THEN pg_temp.v4('plr' || p || '-0') ELSE pg_temp.v4('plr' || p || '-' || (k - 1)) END AS base_run_id,
        NULL::text AS dataset_id
      FROM generate_series(0, ${sizes.pipelines - 1}) p JOIN "pipelines" pl ON pl."id" = pg_temp.v4('pl' || p),
        generate_series(0, ${PIPELINE_RUNS - 1}) k`),
  );

  const sizesOfSweeps = sweepSizes(sizes);
  await pg.query(
    `CREATE TEMP TABLE sweep_slots AS SELECT (n - 1)::int AS j, size FROM unnest($1::int[]) WITH ORDINALITY AS u(size, n)`,
    [sizesOfSweeps],
  );
  await step(
    `${sizes.sweeps.toLocaleString()} sweeps`,
    `INSERT INTO "sweeps" ("id", "name", "project", "spec", "created_at")
     SELECT pg_temp.v4('sw' || j), 'sweep ' || j, ${projectOf(`hashtext('sw' || j)`)},
       jsonb_build_object('name', 'sweep ' || j, 'strategy', CASE WHEN j % 2 = 0 THEN 'grid' ELSE 'random' END,
         'metric', 'test/accuracy', 'goal', 'max', 'maxRuns', size, 'seed', j,
         'parameters', jsonb_build_object('training.learningRate', jsonb_build_array(0.0001, 0.001, 0.01), 'model.headUnits', jsonb_build_array(0, 64))),
       now() - ${YEAR} * (1 - j::float8 / ${sizes.sweeps})
     FROM sweep_slots`,
  );
  const sweepRuns = sizesOfSweeps.reduce((a, b) => a + b, 0);
  await step(
    `${sweepRuns.toLocaleString()} sweep runs (${sizesOfSweeps.filter((s) => s >= 50).length} sweeps of 50 to 200, the others of 2 to 10)`,
    insertRuns(`
      SELECT pg_temp.v4('swr' || j || '-' || k) AS id, 'FINETUNE' AS kind, 'sweep ' || j || ' #' || (k + 1) AS name,
        sw."created_at" + make_interval(secs => k) AS created, sw."project", abs(hashtext('swr' || j || '-' || k)) AS h,
        sw."id" AS sweep_id,
        jsonb_build_object('training.learningRate', (ARRAY[0.0001, 0.001, 0.01])[1 + k % 3], 'model.headUnits', (ARRAY[0, 64])[1 + (k / 3) % 2]) AS sweep_params,
        NULL::uuid AS pipeline_id, NULL::int AS pipeline_step, NULL::uuid AS base_run_id,
        ${datasetOf(`abs(hashtext('sw' || j))`)} AS dataset_id
      FROM sweep_slots JOIN "sweeps" sw ON sw."id" = pg_temp.v4('sw' || j), generate_series(0, size - 1) k`),
  );
  const alone = Math.max(0, sizes.runs - sweepRuns - sizes.pipelines * PIPELINE_RUNS);
  await step(
    `${alone.toLocaleString()} other runs`,
    insertRuns(`
      SELECT pg_temp.v4('run' || i) AS id,
        (CASE WHEN i % 10 < 3 THEN 'PRETRAIN' WHEN i % 10 < 9 THEN 'FINETUNE' ELSE 'EVALUATE' END) AS kind,
        'run ' || i || ' ' || (ARRAY['cats', 'dogs', 'shapes', 'digits', 'flowers'])[1 + i % 5] AS name,
        now() - ${YEAR} * (1 - i::float8 / ${Math.max(alone, 1)}) AS created, ${projectOf(`hashtext('run' || i)`)} AS project,
        abs(hashtext('run' || i)) AS h, NULL::uuid AS sweep_id, NULL::jsonb AS sweep_params,
        NULL::uuid AS pipeline_id, NULL::int AS pipeline_step, NULL::uuid AS base_run_id,
        ${datasetOf(`abs(hashtext('run' || i))`)} AS dataset_id
      FROM generate_series(0, ${alone - 1}) i`),
  );
  await step(
    'one attempt per started run',
    `INSERT INTO "attempts" ("id", "run_id", "number", "backend", "started_at", "ended_at", "outcome")
     SELECT pg_temp.v4('att' || "id"), "id", 1, "backend", "started_at", "ended_at",
       (CASE "status" WHEN 'RUNNING' THEN 'RUNNING' ELSE "status"::text END)::"AttemptOutcome"
     FROM "runs" WHERE "status" <> 'QUEUED'`,
  );
  await step(
    'one final checkpoint per SUCCEEDED run',
    `INSERT INTO "checkpoints" ("id", "run_id", "attempt_id", "sequence", "epoch", "step", "uri", "bytes", "sha256", "status", "models", "created_at", "reason")
     SELECT pg_temp.v4('ckpt' || "id"), "id", pg_temp.v4('att' || "id"), 1, 20, 2000,
       's3://trainyard/runs/' || "id" || '/checkpoints/1/', 1048576, md5("id"::text) || md5("name"), 'COMPLETE',
       CASE "kind" WHEN 'PRETRAIN' THEN ARRAY['autoencoder', 'encoder'] ELSE ARRAY['classifier'] END, "ended_at", 'final'
     FROM "runs" WHERE "status" = 'SUCCEEDED'`,
  );
  // Each version names a SUCCEEDED fine-tune of its project, picked by rank through a keyed table
  // (a join on a ranked CTE was planned as a nested loop: 45 s).
  await pg.query(
    `CREATE TEMP TABLE candidates AS
       SELECT "id", "project", row_number() OVER (PARTITION BY "project" ORDER BY "created_at")::int AS rn
       FROM "runs" WHERE "status" = 'SUCCEEDED' AND "kind" = 'FINETUNE'`,
  );
  await pg.query('ALTER TABLE candidates ADD PRIMARY KEY ("project", rn)');
  await pg.query('ANALYZE candidates');
  await step(
    `${sizes.models.toLocaleString()} model names, 1 to 9 versions each`,
    `INSERT INTO "model_versions" ("id", "name", "project", "version", "run_id", "checkpoint_id", "created_at")
     SELECT pg_temp.v4('mv' || n || '-' || v), 'model-' || n, c."project", v, c."id", pg_temp.v4('ckpt' || c."id"),
       now() - ${YEAR} * (1 - (n * 9 + v)::float8 / ${sizes.models * 9 + 9})
     FROM generate_series(0, ${sizes.models - 1}) n CROSS JOIN LATERAL generate_series(1, 1 + n % 9) v
     JOIN candidates c ON c."project" = (ARRAY['vision', 'speech', 'default'])[1 + n % 3] AND c.rn = n * 10 + v`,
  );
  await pg.query(
    `INSERT INTO "model_names" ("project", "name", "last_version")
     SELECT "project", "name", max("version") FROM "model_versions" GROUP BY 1, 2`,
  );
  await pg.query('ALTER TABLE "metric_points" DISABLE TRIGGER USER');
  await step(
    `val_loss and val_accuracy × ${sizes.epochs} epochs of every run that trained, test/accuracy of SUCCEEDED fine-tunes`,
    `INSERT INTO "metric_points" ("run_id", "name", "step", "epoch", "value", "wall_time")
     SELECT r."id", n.name, e * 100, e,
       CASE WHEN n.name = 'val_loss' THEN 2.0 / (1 + e) + (abs(hashtext(r."id"::text)) % 100) / 1000.0
         ELSE 0.5 + 0.45 * e / ${sizes.epochs}.0 * (abs(hashtext(r."id"::text)) % 100) / 100.0 END,
       r."started_at" + make_interval(mins => e)
     FROM "runs" r, generate_series(1, ${sizes.epochs}) e, (VALUES ('val_loss'), ('val_accuracy')) n(name)
     WHERE r."status" <> 'QUEUED' AND r."kind" <> 'EVALUATE'
     UNION ALL
     SELECT r."id", 'test/accuracy', ${sizes.epochs} * 100 + 1, ${sizes.epochs}, (r."result"->>'accuracy')::float8, r."ended_at"
     FROM "runs" r WHERE r."status" = 'SUCCEEDED' AND r."kind" = 'FINETUNE'`,
  );
  await deriveRollupsAndSummaries(pg, log);
  await step('VACUUM ANALYZE', 'VACUUM ANALYZE');
}
