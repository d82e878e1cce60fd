import type { Prisma, PrismaClient } from './generated/prisma/client';
import type { RunSpec } from '@trainyard/contracts';
import { lockRegistryReferences } from './registry-references';
import { inSubmitTurn } from './submit-turns';

type Tx = Prisma.TransactionClient;

export type ProjectOwnedKind = 'run' | 'pipeline' | 'sweep' | 'dataset';

/** A project's own limits (null: none, the fleet's default applies) and its runs now. */
export interface ProjectLoad {
  project: string;
  /** Its own PROJECT_MAX_RUNNING, set over the API; null: the default each worker has applies. */
  maxRunning: number | null;
  /** Its own QUOTA_QUEUED_RUNS, set over the API; null: the API's default applies. */
  maxQueued: number | null;
  /** Its own QUOTA_MAX_PRIORITY, set over the API; null: the API's default applies. */
  maxPriority: number | null;
  /** Its own QUOTA_PROJECT_UPLOAD_BYTES, set over the API; null: the API's default applies. */
  maxUploadBytes: number | null;
  /** Runs of the project training now: what the limit counts. */
  running: number;
  /** Runs of the project waiting for a worker (QUEUED or PREEMPTED). */
  waiting: number;
  /** Bytes its runs' checkpoints hold in the store (project_storage, kept by triggers). */
  checkpointBytes: number;
}

/**
 * A submit's check of its project's load, made where its runs are recorded (see lockedProjectLoad):
 * it throws to refuse them, and nothing is written.
 */
export type ProjectLoadCheck = (load: ProjectLoad) => void;

/** Namespace of the per-project advisory locks taken while a submit counts and records runs (two-int form). */
const SUBMIT_LOCK_NAMESPACE = 72_707_372;

/**
 * Options of a transaction that takes a project's submit lock: a burst of one project's submits
 * queues for the lock (and for pool connections) longer than Prisma's defaults (2 s, 5 s) allow.
 */
const SUBMIT_TRANSACTION = { maxWait: 10_000, timeout: 30_000 } as const;

/**
 * A submit's transaction (SUBMIT_TRANSACTION's deadlines). `locked`: it takes the project's submit
 * lock (lockedProjectLoad), so it first waits for its turn among the project's submits in this
 * process (inSubmitTurn), holding no pool connection while it waits.
 */
export function submitTransaction<T>(
  prisma: PrismaClient,
  project: string,
  locked: boolean,
  write: (tx: Tx) => Promise<T>,
): Promise<T> {
  const run = () => prisma.$transaction(write, SUBMIT_TRANSACTION);
  return locked ? inSubmitTurn(project, run) : run();
}

/**
 * The project's load, read after taking its submit lock, held until `tx` ends: the submits of one
 * project count its waiting runs and record theirs one after another, so two of them can never
 * pass its queued-runs quota together (counted apart from their inserts, they all saw the same
 * waiting runs). Submits of other projects take other locks. The lock is a statement of its own:
 * a count in the same statement would read a snapshot taken before the lock was granted, without
 * the runs of the submit that held it.
 */
export async function lockedProjectLoad(tx: Tx, project: string): Promise<ProjectLoad> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${SUBMIT_LOCK_NAMESPACE}::int4, hashtext(${project}))`;
  return loadOf(tx, project);
}

/**
 * The start of a submit's transaction: the datasets and model versions its specs name locked
 * (lockRegistryReferences), then, with a `check`, the project's load read under its submit lock
 * (lockedProjectLoad) and checked, which throws to refuse the submit.
 */
export async function lockSubmitted(
  tx: Tx,
  project: string,
  specs: readonly RunSpec[],
  check?: ProjectLoadCheck,
): Promise<void> {
  await lockRegistryReferences(tx, project, specs);
  if (check) check(await lockedProjectLoad(tx, project));
}

/**
 * How many more of a project's runs may start under `limit` with `running` training: none or
 * fewer past it, every one (Infinity) when no limit holds the project. What a release of parked
 * jobs counts, in the worker after a run and in the API after a limit changes.
 */
export function placesFree(limit: number | null, running: number): number {
  return limit === null ? Number.POSITIVE_INFINITY : limit - running;
}

/** Which project a resource belongs to, and the limits and load of a project. */
export class ProjectsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** The resource's project, or null when there is no such resource. */
  async projectOf(kind: ProjectOwnedKind, id: string): Promise<string | null> {
    const where = { where: { id }, select: { project: true } } as const;
    const row =
      kind === 'run'
        ? await this.prisma.run.findUnique(where)
        : kind === 'pipeline'
          ? await this.prisma.pipeline.findUnique(where)
          : kind === 'sweep'
            ? await this.prisma.sweep.findUnique(where)
            : await this.prisma.dataset.findUnique(where);
    return row?.project ?? null;
  }

  /**
   * The project's own limits and its runs training and waiting (QUEUED, PREEMPTED, or held by a
   * pipeline) now, in one round trip.
   */
  load(project: string): Promise<ProjectLoad> {
    return loadOf(this.prisma, project);
  }

  /** Bytes each project's checkpoints hold, for the projects holding any (project_storage, kept by triggers). */
  checkpointBytesByProject(): Promise<{ project: string; bytes: number }[]> {
    return this.prisma.$queryRaw`
      SELECT "project", "checkpoint_bytes"::float8 AS "bytes" FROM "project_storage"
      WHERE "checkpoint_bytes" > 0 ORDER BY "project"`;
  }

  /** Every project with a limit of its own, by name, with its load. */
  async listLimited(): Promise<ProjectLoad[]> {
    return this.prisma.$queryRaw<ProjectLoad[]>`
      SELECT l."project", l."max_running" AS "maxRunning", l."max_queued" AS "maxQueued",
        l."max_priority" AS "maxPriority", l."max_upload_bytes"::float8 AS "maxUploadBytes",
        count(r."id") FILTER (WHERE r."status" = 'RUNNING')::int AS "running",
        count(r."id") FILTER (WHERE r."status" IN ('QUEUED', 'PREEMPTED'))::int AS "waiting",
        coalesce(s."checkpoint_bytes", 0)::float8 AS "checkpointBytes"
      FROM "project_limits" l
      LEFT JOIN "runs" r ON r."project" = l."project" AND r."status" IN ('RUNNING', 'QUEUED', 'PREEMPTED')
      LEFT JOIN "project_storage" s ON s."project" = l."project"
      GROUP BY l."project", l."max_running", l."max_queued", l."max_priority", l."max_upload_bytes", s."checkpoint_bytes"
      ORDER BY l."project"`;
  }

  /**
   * Changes the project's own limits (the caller checks the bounds): a number sets one, null removes
   * it (the default applies again), a field left out stays as it is. A project left with no limit
   * of its own has no row. One transaction: two operators changing one project's limits at once both land.
   */
  async setLimits(project: string, change: ProjectLimitsChange): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const row = await tx.projectLimit.upsert({
        where: { project },
        create: {
          project,
          maxRunning: change.maxRunning ?? null,
          maxQueued: change.maxQueued ?? null,
          maxPriority: change.maxPriority ?? null,
          maxUploadBytes: bigIntOrNull(change.maxUploadBytes),
        },
        update: {
          ...change,
          ...(change.maxUploadBytes !== undefined ? { maxUploadBytes: bigIntOrNull(change.maxUploadBytes) } : {}),
          updatedAt: new Date(),
        },
      });
      if (row.maxRunning === null && row.maxQueued === null && row.maxPriority === null && row.maxUploadBytes === null)
        await tx.projectLimit.delete({ where: { project } });
    });
  }
}

/** One statement: the project's own limits, its runs training and waiting (held by a pipeline too: QUEUED) and what its checkpoints hold. */
async function loadOf(db: Pick<Tx, '$queryRaw'>, project: string): Promise<ProjectLoad> {
  const [row] = await db.$queryRaw<Omit<ProjectLoad, 'project'>[]>`
    SELECT l."max_running" AS "maxRunning", l."max_queued" AS "maxQueued", l."max_priority" AS "maxPriority",
      l."max_upload_bytes"::float8 AS "maxUploadBytes", c."running", c."waiting",
      coalesce(s."checkpoint_bytes", 0)::float8 AS "checkpointBytes"
    FROM (SELECT count(*) FILTER (WHERE "status" = 'RUNNING')::int AS "running",
      count(*) FILTER (WHERE "status" IN ('QUEUED', 'PREEMPTED'))::int AS "waiting"
      FROM "runs" WHERE "project" = ${project} AND "status" IN ('RUNNING', 'QUEUED', 'PREEMPTED')) c
    LEFT JOIN "project_limits" l ON l."project" = ${project}
    LEFT JOIN "project_storage" s ON s."project" = ${project}`;
  return { project, ...row! };
}

/** What an operator changes of a project's limits: a number, null (back to the default), or left out. */
export interface ProjectLimitsChange {
  maxRunning?: number | null;
  maxQueued?: number | null;
  maxPriority?: number | null;
  maxUploadBytes?: number | null;
}

function bigIntOrNull(value: number | null | undefined): bigint | null {
  return value == null ? null : BigInt(value);
}
