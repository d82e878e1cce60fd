import type { PrismaClient } from './generated/prisma/client';

export type ProjectOwnedKind = 'run' | 'pipeline' | 'sweep' | 'dataset';

/** A project's own limits (null: none, the fleet's default applies) and its runs now. */
export interface ProjectLoad {
  project: string;
  /** Its own PROJECT_MAX_RUNNING, set over the API; null: the default each worker has applies. */
  maxRunning: number | null;
  /** Its own QUOTA_QUEUED_RUNS, set over the API; null: the API's default applies. */
  maxQueued: number | null;
  /** Runs of the project training now: what the limit counts. */
  running: number;
  /** Runs of the project waiting for a worker (QUEUED or PREEMPTED). */
  waiting: number;
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
  async load(project: string): Promise<ProjectLoad> {
    const [row] = await this.prisma.$queryRaw<Omit<ProjectLoad, 'project'>[]>`
      SELECT l."max_running" AS "maxRunning", l."max_queued" AS "maxQueued", c."running", c."waiting"
      FROM (SELECT count(*) FILTER (WHERE "status" = 'RUNNING')::int AS "running",
        count(*) FILTER (WHERE "status" IN ('QUEUED', 'PREEMPTED'))::int AS "waiting"
        FROM "runs" WHERE "project" = ${project} AND "status" IN ('RUNNING', 'QUEUED', 'PREEMPTED')) c
      LEFT JOIN "project_limits" l ON l."project" = ${project}`;
    return { project, ...row! };
  }

  /** Every project with a limit of its own, by name, with its load. */
  async listLimited(): Promise<ProjectLoad[]> {
    return this.prisma.$queryRaw<ProjectLoad[]>`
      SELECT l."project", l."max_running" AS "maxRunning", l."max_queued" AS "maxQueued",
        count(r."id") FILTER (WHERE r."status" = 'RUNNING')::int AS "running",
        count(r."id") FILTER (WHERE r."status" IN ('QUEUED', 'PREEMPTED'))::int AS "waiting"
      FROM "project_limits" l
      LEFT JOIN "runs" r ON r."project" = l."project" AND r."status" IN ('RUNNING', 'QUEUED', 'PREEMPTED')
      GROUP BY l."project", l."max_running", l."max_queued"
      ORDER BY l."project"`;
  }

  /**
   * Changes the project's own limits (the caller checks the bounds): a number sets one, null removes
   * it (the default applies again), a field left out stays as it is. A project left with neither
   * has no row. One transaction: two operators changing one project's limits at once both land.
   */
  async setLimits(project: string, change: ProjectLimitsChange): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const row = await tx.projectLimit.upsert({
        where: { project },
        create: { project, maxRunning: change.maxRunning ?? null, maxQueued: change.maxQueued ?? null },
        update: { ...change, updatedAt: new Date() },
      });
      if (row.maxRunning === null && row.maxQueued === null) await tx.projectLimit.delete({ where: { project } });
    });
  }
}

/** What an operator changes of a project's limits: a number, null (back to the default), or left out. */
export interface ProjectLimitsChange {
  maxRunning?: number | null;
  maxQueued?: number | null;
}
