import type { PrismaClient } from './generated/prisma/client';

export type ProjectOwnedKind = 'run' | 'pipeline' | 'sweep' | 'dataset';

/** A project's own limit (null: none, the fleet's default applies) and its runs now. */
export interface ProjectLoad {
  project: string;
  /** Its own PROJECT_MAX_RUNNING, set over the API; null: the default each process has applies. */
  maxRunning: number | null;
  /** Runs of the project training now: what the limit counts. */
  running: number;
  /** Runs of the project waiting for a worker (QUEUED or PREEMPTED). */
  waiting: number;
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

  /** Runs of a project waiting for a worker (QUEUED, PREEMPTED, or held by a pipeline). */
  async waitingRuns(project: string): Promise<number> {
    return this.prisma.run.count({ where: { project, status: { in: ['QUEUED', 'PREEMPTED'] } } });
  }

  /** The project's own limit and its runs training and waiting now, in one round trip. */
  async load(project: string): Promise<ProjectLoad> {
    const [row] = await this.prisma.$queryRaw<Omit<ProjectLoad, 'project'>[]>`
      SELECT (SELECT "max_running" FROM "project_limits" WHERE "project" = ${project}) AS "maxRunning",
        count(*) FILTER (WHERE "status" = 'RUNNING')::int AS "running",
        count(*) FILTER (WHERE "status" IN ('QUEUED', 'PREEMPTED'))::int AS "waiting"
      FROM "runs" WHERE "project" = ${project} AND "status" IN ('RUNNING', 'QUEUED', 'PREEMPTED')`;
    return { project, ...row };
  }

  /** Every project with a limit of its own, by name, with its load. */
  async listLimited(): Promise<ProjectLoad[]> {
    return this.prisma.$queryRaw<ProjectLoad[]>`
      SELECT l."project", l."max_running" AS "maxRunning",
        count(r."id") FILTER (WHERE r."status" = 'RUNNING')::int AS "running",
        count(r."id") FILTER (WHERE r."status" IN ('QUEUED', 'PREEMPTED'))::int AS "waiting"
      FROM "project_limits" l
      LEFT JOIN "runs" r ON r."project" = l."project" AND r."status" IN ('RUNNING', 'QUEUED', 'PREEMPTED')
      GROUP BY l."project", l."max_running"
      ORDER BY l."project"`;
  }

  /** Sets the project's own PROJECT_MAX_RUNNING (the caller checks the bounds); null removes it. */
  async setMaxRunning(project: string, maxRunning: number | null): Promise<void> {
    if (maxRunning === null) {
      await this.prisma.projectLimit.deleteMany({ where: { project } });
      return;
    }
    await this.prisma.projectLimit.upsert({
      where: { project },
      create: { project, maxRunning },
      update: { maxRunning, updatedAt: new Date() },
    });
  }
}
