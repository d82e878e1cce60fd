import {
  DATASET_LIST_CLASS_NAMES,
  type ActiveRuns,
  type DatasetLocation,
  type DatasetSummary,
  type DatasetView,
} from '@trainyard/contracts';
import {
  checkLimit,
  decodeCreatedCursor,
  encodeCreatedCursor,
  type CatalogPage,
  type CatalogPageQuery,
} from './catalog-page';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import { finishedRunsReferring, unfinishedRunsReferring, usingDataset } from './registry-references';
import { datasetView } from './views';

/**
 * What registration writes: the folder as checked (the database dates it, the view sums its
 * counts), and what an upload stored (none for a folder registered by path or prefix).
 */
export type DatasetCreation = Omit<DatasetView, 'createdAt' | 'images' | 'uploadedBytes'> & {
  uploadedBytes?: number | null;
};

/** Thrown when a dataset name is taken: names are how people find their folders again. */
export class DatasetNameTakenError extends Error {
  constructor(readonly datasetName: string) {
    super(`A dataset named "${datasetName}" is already registered`);
    this.name = 'DatasetNameTakenError';
  }
}

/**
 * Thrown when a folder is, holds or lies in a folder another project registered: a folder is read
 * by the project that registered it first, so a key of one project cannot read another's images
 * by registering the same folder (or the folder above it, which would list theirs as classes).
 */
export class DatasetFolderTakenError extends Error {
  constructor(readonly field: 'location.path' | 'location.prefix') {
    super('is, holds or lies in a folder another project registered as a dataset');
    this.name = 'DatasetFolderTakenError';
  }
}

/** Namespace of the advisory lock registrations take, so two projects cannot claim overlapping folders together. */
const REGISTRATION_LOCK_NAMESPACE = 72_707_373;

/**
 * A registered location as a folder with a trailing `/`, so `a/b/` never matches `a/bc/`; the
 * store's root (prefix '', an imported model's folder at the bucket's top) stays '', holding all.
 */
function folderOf(location: DatasetLocation): string {
  const folder = location.kind === 'local' ? location.path : location.prefix;
  return folder === '' || folder.endsWith('/') ? folder : `${folder}/`;
}

/** What deleting a dataset did; `removed` is what its `removeObjects` answered. */
export type DatasetDeletionOutcome<T> =
  | { outcome: 'not-found' }
  | { outcome: 'in-use'; activeRuns: ActiveRuns }
  | { outcome: 'deleted'; dataset: DatasetView; finishedRuns: number; removed: T };

/**
 * How long deleting a dataset may hold its row: the objects of an upload (up to
 * FOLDER_WALK_MAX_FILES of them, 1,000 a request) are removed under the lock.
 */
export const DATASET_DELETE_TIMEOUT_MS = 15 * 60_000;

/** Registered image folders (the registration API checked their layout before writing). */
export class DatasetsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Records the dataset, unless its folder is, holds or lies in one another project registered
   * (DatasetFolderTakenError): checked under a lock every registration takes, so two projects
   * registering overlapping folders at once cannot both pass. `sameFolder` names the folder by
   * the other kind of location too (a local store's prefix as a path, and back), checked alike.
   */
  async create(input: DatasetCreation, sameFolder: DatasetLocation[] = []): Promise<DatasetView> {
    try {
      const row = await this.prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${REGISTRATION_LOCK_NAMESPACE}::int4, 0)`;
        for (const location of [input.location, ...sameFolder])
          if (await folderTakenBy(tx, location, input.project))
            throw new DatasetFolderTakenError(fieldOf(input.location));
        return tx.dataset.create({
          data: {
            ...input,
            location: input.location as unknown as Prisma.InputJsonValue,
            uploadedBytes: input.uploadedBytes == null ? null : BigInt(input.uploadedBytes),
          },
        });
      });
      return datasetView(row);
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002')
        throw new DatasetNameTakenError(input.name);
      throw error;
    }
  }

  /** Whether `location` is, holds or lies in a folder a project other than `project` registered. */
  folderTaken(location: DatasetLocation, project: string): Promise<boolean> {
    return folderTakenBy(this.prisma, location, project);
  }

  async get(id: string): Promise<DatasetView | null> {
    const row = await this.prisma.dataset.findUnique({ where: { id } });
    return row ? datasetView(row) : null;
  }

  /** Whether the project has a dataset of that name (names are unique per project). */
  async nameTaken(project: string, name: string): Promise<boolean> {
    return (await this.prisma.dataset.count({ where: { project, name } })) > 0;
  }

  /** Which of the store prefixes `prefixes` a dataset is registered at. */
  async registeredPrefixes(prefixes: string[]): Promise<Set<string>> {
    if (prefixes.length === 0) return new Set();
    const rows = await this.prisma.$queryRaw<{ prefix: string }[]>`
      SELECT DISTINCT "location"->>'prefix' AS "prefix" FROM "datasets"
      WHERE "location"->>'kind' = 's3' AND "location"->>'prefix' = ANY (${prefixes}::text[])`;
    return new Set(rows.map((row) => row.prefix));
  }

  /**
   * Newest first, a keyset page like the other catalog lists (catalog-page.ts); one project's, or
   * every project's when `query.project` is undefined. A row carries its classes counted and the
   * first DATASET_LIST_CLASS_NAMES named: the arrays of up to DATASET_MAX_CLASSES are sliced and
   * summed in PostgreSQL, for the page's rows only: the page is read in the order of
   * datasets_project_created_at_id_idx (or datasets_created_at_id_idx), so only the rows the LIMIT
   * keeps are computed, and a page never reads the arrays whole nor the table.
   */
  async list(query: CatalogPageQuery): Promise<CatalogPage<DatasetSummary>> {
    checkLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeCreatedCursor('datasets', query.cursor);
    const project = query.project ?? null;
    const rows = await this.prisma.$queryRaw<
      (Omit<DatasetSummary, 'createdAt' | 'location'> & { location: unknown; createdAt: Date })[]
    >`
      SELECT d."id"::text AS "id", d."name", d."project", d."location", d."uri",
             cardinality(d."class_names") AS "classCount",
             coalesce(d."class_names"[1:${DATASET_LIST_CLASS_NAMES}::int], '{}') AS "firstClassNames",
             (SELECT coalesce(sum(c), 0) FROM unnest(d."counts") AS c)::int AS "images",
             d."uploaded_bytes"::float8 AS "uploadedBytes", d."created_at" AS "createdAt"
      FROM "datasets" AS d
      WHERE (${project}::text IS NULL OR d."project" = ${project}::text)
        AND (${after?.createdAt ?? null}::timestamptz IS NULL
             OR (d."created_at", d."id") < (${after?.createdAt ?? null}::timestamptz, ${after?.id ?? null}::uuid))
      ORDER BY d."created_at" DESC, d."id" DESC
      LIMIT ${query.limit + 1}`;
    const page = rows.slice(0, query.limit);
    return {
      items: page.map((row) => ({
        ...row,
        location: row.location as DatasetLocation,
        createdAt: row.createdAt.toISOString(),
      })),
      nextCursor: rows.length > query.limit ? encodeCreatedCursor('datasets', page.at(-1)!) : null,
    };
  }

  /**
   * Deletes the registration in one transaction holding its row FOR UPDATE: a submit naming the
   * dataset takes the row FOR KEY SHARE where it records its runs (lockRegistryReferences), so it
   * either records them first, and they are found here (in use), or waits and then finds the row
   * gone. Only once no unfinished run names it does `removeObjects` run (what Trainyard stored for
   * it), before the row goes: when it fails the transaction is rolled back and the row stays, so
   * retrying the delete converges. Finished runs keep their specs, which name the id.
   * `removeObjects` reads the database only through the `within` it is given, the transaction's own
   * connection: a query on another would wait for this transaction for ever where the database
   * has one connection (the embedded PGlite of `npm run demo`).
   */
  async delete<T>(
    id: string,
    removeObjects: (dataset: DatasetView, within: DatasetDeletionReads) => Promise<T>,
  ): Promise<DatasetDeletionOutcome<T>> {
    return this.prisma.$transaction(
      async (tx) => {
        const locked = await tx.$queryRaw<{ id: string }[]>`
          SELECT "id"::text AS "id" FROM "datasets" WHERE "id" = ${id}::uuid FOR UPDATE`;
        const row = locked.length === 0 ? null : await tx.dataset.findUnique({ where: { id } });
        if (!row) return { outcome: 'not-found' } as const;
        const activeRuns = await unfinishedRunsReferring(tx, row.project, usingDataset(id));
        if (activeRuns) return { outcome: 'in-use', activeRuns } as const;
        const finishedRuns = await finishedRunsReferring(tx, row.project, usingDataset(id));
        const dataset = datasetView(row);
        const removed = await removeObjects(dataset, {
          prefixShared: async (prefix) => {
            const [shared] = await tx.$queryRaw<{ n: number }[]>`
              SELECT count(*)::int AS "n" FROM "datasets"
              WHERE "location"->>'kind' = 's3' AND "location"->>'prefix' = ${prefix} AND "id" <> ${id}::uuid`;
            return (shared?.n ?? 0) > 0;
          },
        });
        await tx.dataset.delete({ where: { id } });
        return { outcome: 'deleted', dataset, finishedRuns, removed } as const;
      },
      { maxWait: 10_000, timeout: DATASET_DELETE_TIMEOUT_MS },
    );
  }
}

/** What a dataset's deletion may read while it holds the row. */
export interface DatasetDeletionReads {
  /**
   * Whether a dataset other than the one going is registered at the store prefix. An upload's
   * folder is its dataset's alone (registration refuses the prefix), but a row written before it
   * did may name another's: its objects are then left where they are.
   */
  prefixShared(prefix: string): Promise<boolean>;
}

const fieldOf = (location: DatasetLocation) => (location.kind === 'local' ? 'location.path' : 'location.prefix');

async function folderTakenBy(
  db: Pick<PrismaClient, '$queryRaw'>,
  location: DatasetLocation,
  project: string,
): Promise<boolean> {
  const folder = folderOf(location);
  const [row] = await db.$queryRaw<{ taken: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM (
        SELECT CASE WHEN right(f, 1) = '/' THEN f ELSE f || '/' END AS "other" FROM (
          SELECT coalesce("location"->>'path', "location"->>'prefix') AS f FROM "datasets"
          WHERE "project" <> ${project} AND "location"->>'kind' = ${location.kind}
        ) named
      ) others
      WHERE starts_with(${folder}, "other") OR starts_with("other", ${folder})
    ) AS "taken"`;
  return row?.taken ?? false;
}
