import type { PrismaClient } from './generated/prisma/client';

export type ProjectOwnedKind = 'run' | 'pipeline' | 'sweep' | 'dataset';

/** Which project a resource belongs to: the one question access checks ask of every id. */
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
}
