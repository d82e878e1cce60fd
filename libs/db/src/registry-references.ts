import {
  ACTIVE_RUNS_LISTED,
  classifierBase,
  isTerminal,
  RUN_STATUSES,
  type ActiveRuns,
  type RegisteredModelRef,
  type RunSpec,
} from '@trainyard/contracts';
import { RunReferenceRefusedError } from './errors';
import { Prisma } from './generated/prisma/client';

type Db = Pick<Prisma.TransactionClient, '$queryRaw'>;

/** Statuses in which a worker holds, or will hold, a run: it may still read what its spec names. */
const UNFINISHED = RUN_STATUSES.filter((status) => !isTerminal(status));

/** Runs of `project` whose spec trains on the registered dataset `datasetId`. */
export function usingDataset(datasetId: string): Prisma.Sql {
  return Prisma.sql`"spec"->'dataset'->>'name' = 'image-folder'
    AND lower("spec"->'dataset'->>'datasetId') = ${datasetId.toLowerCase()}`;
}

/** Runs of `project` whose spec fine-tunes from the registered model version (`model.baseModel`). */
export function onModelVersion({ name, version }: RegisteredModelRef): Prisma.Sql {
  return Prisma.sql`"spec"->'model'->'baseModel'->>'name' = ${name}
    AND "spec"->'model'->'baseModel'->>'version' = ${String(version)}`;
}

/**
 * The project's runs not finished whose spec names what `refers` picks (usingDataset,
 * onModelVersion): how many, and the oldest ones' ids. Null when there are none. Read inside the
 * deleting transaction, after the row is locked, so a submit that recorded such a run first is seen.
 */
export async function unfinishedRunsReferring(db: Db, project: string, refers: Prisma.Sql): Promise<ActiveRuns | null> {
  const rows = await db.$queryRaw<{ id: string; total: number }[]>`
    SELECT "id"::text AS "id", count(*) OVER ()::int AS "total" FROM "runs"
    WHERE "project" = ${project} AND "status"::text IN (${Prisma.join(UNFINISHED)}) AND ${refers}
    ORDER BY "created_at", "id" LIMIT ${ACTIVE_RUNS_LISTED}`;
  return rows.length === 0 ? null : { count: rows[0]!.total, ids: rows.map((row) => row.id) };
}

/** How many of the project's finished runs name what `refers` picks: they keep their history. */
export async function finishedRunsReferring(db: Db, project: string, refers: Prisma.Sql): Promise<number> {
  const [row] = await db.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS "n" FROM "runs"
    WHERE "project" = ${project} AND "status"::text NOT IN (${Prisma.join(UNFINISHED)}) AND ${refers}`;
  return row?.n ?? 0;
}

/**
 * Inside the transaction that records runs: locks (FOR KEY SHARE, as a foreign key's check does)
 * the registered datasets and model versions their specs name, or refuses the runs when one of
 * them is gone. The submit checked them before (RunReferencesResolver.atSubmit), outside any
 * transaction; a DELETE of one holds its row FOR UPDATE while it looks for unfinished runs that
 * name it, so either the DELETE goes first and the runs are refused here (422 naming the field),
 * or the runs are recorded first and the DELETE finds them (409). Taken before the project's
 * submit lock, so a submit waiting on a deletion holds up no other submit of its project.
 */
export async function lockRegistryReferences(db: Db, project: string, specs: readonly RunSpec[]): Promise<void> {
  const datasets = [...new Set(specs.flatMap(datasetIdOf))];
  if (datasets.length > 0) {
    const found = await db.$queryRaw<{ id: string }[]>`
      SELECT "id"::text AS "id" FROM "datasets"
      WHERE "id" = ANY(${datasets}::uuid[]) AND "project" = ${project} FOR KEY SHARE`;
    const gone = datasets.find((id) => !found.some((row) => row.id === id));
    if (gone !== undefined)
      throw new RunReferenceRefusedError(
        'The dataset is not registered',
        'dataset.datasetId',
        `Dataset ${gone} was deleted while the run was being submitted`,
      );
  }
  const models = uniqueModels(specs.flatMap(baseModelOf));
  if (models.length > 0) {
    const found = await db.$queryRaw<{ name: string; version: number }[]>`
      SELECT "name", "version" FROM "model_versions"
      WHERE "project" = ${project}
        AND ("name", "version") IN (${Prisma.join(models.map((m) => Prisma.sql`(${m.name}, ${m.version}::int)`))})
      FOR KEY SHARE`;
    const gone = models.find((m) => !found.some((row) => row.name === m.name && row.version === m.version));
    if (gone !== undefined)
      throw new RunReferenceRefusedError(
        'The base model is not registered',
        'model.baseModel',
        `Version ${gone.version} of model "${gone.name}" was deleted while the run was being submitted`,
      );
  }
}

function datasetIdOf(spec: RunSpec): string[] {
  return spec.dataset?.name === 'image-folder' ? [spec.dataset.datasetId.toLowerCase()] : [];
}

function baseModelOf(spec: RunSpec): RegisteredModelRef[] {
  if (spec.kind !== 'finetune') return [];
  const base = classifierBase(spec.model);
  return base.kind === 'registered' ? [base.model] : [];
}

function uniqueModels(models: RegisteredModelRef[]): RegisteredModelRef[] {
  const byKey = new Map(models.map((m) => [JSON.stringify([m.name, m.version]), m]));
  return [...byKey.values()];
}
