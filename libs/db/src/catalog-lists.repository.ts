import {
  MODEL_LIST_VERSIONS,
  type ModelSummary,
  type PipelineSummary,
  type RunStatus,
  type SweepSummary,
} from '@trainyard/contracts';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import {
  checkLimit,
  countsByOwner,
  createdBefore,
  decodeCreatedCursor,
  decodeNameCursor,
  encodeCreatedCursor,
  encodeNameCursor,
  type CatalogPage,
  type CatalogPageQuery,
} from './catalog-page';
import { modelVersionView } from './views';

/**
 * The pipeline, sweep and model lists: keyset pages (a cursor names the last row shown, so a
 * page costs the same wherever it is and rows created meanwhile neither repeat nor vanish),
 * one project's or every project's, each row with its runs counted by status in one query.
 */
export class CatalogListsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Newest first. */
  async pipelines(query: CatalogPageQuery): Promise<CatalogPage<PipelineSummary>> {
    checkLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeCreatedCursor('pipelines', query.cursor);
    const rows = await this.prisma.pipeline.findMany({
      where: { project: query.project, ...createdBefore(after) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: query.limit + 1,
      select: {
        id: true,
        name: true,
        project: true,
        status: true,
        failureReason: true,
        createdAt: true,
        updatedAt: true,
        endedAt: true,
      },
    });
    const page = rows.slice(0, query.limit);
    const counts = await this.runCounts(
      'pipelineId',
      page.map((p) => p.id),
    );
    return {
      items: page.map((row) => {
        const byStatus = counts.get(row.id) ?? {};
        return {
          ...row,
          createdAt: row.createdAt.toISOString(),
          updatedAt: row.updatedAt.toISOString(),
          endedAt: row.endedAt?.toISOString() ?? null,
          steps: Object.values(byStatus).reduce((n, c) => n + c, 0),
          counts: byStatus,
        };
      }),
      nextCursor: rows.length > query.limit ? encodeCreatedCursor('pipelines', page.at(-1)!) : null,
    };
  }

  /** Newest first. */
  async sweeps(query: CatalogPageQuery): Promise<CatalogPage<SweepSummary>> {
    checkLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeCreatedCursor('sweeps', query.cursor);
    const rows = await this.prisma.sweep.findMany({
      where: { project: query.project, ...createdBefore(after) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const counts = await this.runCounts(
      'sweepId',
      page.map((s) => s.id),
    );
    return {
      items: page.map((row) => {
        // The spec was validated by SweepSpecSchema at submit; read defensively all the same.
        const spec = (typeof row.spec === 'object' && row.spec !== null ? row.spec : {}) as Record<string, unknown>;
        const parameters =
          typeof spec['parameters'] === 'object' && spec['parameters'] !== null ? Object.keys(spec['parameters']) : [];
        const byStatus = counts.get(row.id) ?? {};
        return {
          id: row.id,
          name: row.name,
          project: row.project,
          createdAt: row.createdAt.toISOString(),
          strategy: spec['strategy'] === 'random' ? 'random' : 'grid',
          metric: typeof spec['metric'] === 'string' ? spec['metric'] : 'test/accuracy',
          goal: spec['goal'] === 'min' ? 'min' : 'max',
          parameters,
          runs: Object.values(byStatus).reduce((n, c) => n + c, 0),
          counts: byStatus,
        };
      }),
      nextCursor: rows.length > query.limit ? encodeCreatedCursor('sweeps', page.at(-1)!) : null,
    };
  }

  /** By name (then project), each with its newest MODEL_LIST_VERSIONS versions. */
  async models(query: CatalogPageQuery): Promise<CatalogPage<ModelSummary>> {
    checkLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeNameCursor(query.cursor);
    const project = query.project ?? null;
    const rows = await this.prisma.$queryRaw<
      { name: string; project: string; versions: number; latest: number; updated: Date }[]
    >`
      SELECT name, project, count(*)::int AS versions, max(version) AS latest, max(created_at) AS updated
      FROM model_versions
      WHERE (${project}::text IS NULL OR project = ${project}::text)
        AND (${after?.name ?? null}::text IS NULL
             OR (name, project) > (${after?.name ?? null}::text, ${after?.project ?? null}::text))
      GROUP BY name, project
      ORDER BY name, project
      LIMIT ${query.limit + 1}`;
    const page = rows.slice(0, query.limit);
    const versions = page.length
      ? await this.prisma.$queryRaw<Prisma.ModelVersionGetPayload<object>[]>`
          SELECT id, name, project, version, run_id AS "runId", checkpoint_id AS "checkpointId", created_at AS "createdAt"
          FROM (
            SELECT *, row_number() OVER (PARTITION BY project, name ORDER BY version DESC) AS newest
            FROM model_versions
            WHERE (project, name) IN (${Prisma.join(page.map((m) => Prisma.sql`(${m.project}, ${m.name})`))})
          ) ranked
          WHERE newest <= ${MODEL_LIST_VERSIONS}
          ORDER BY project, name, version DESC`
      : [];
    return {
      items: page.map((m) => ({
        name: m.name,
        project: m.project,
        versionCount: m.versions,
        latestVersion: m.latest,
        updatedAt: m.updated.toISOString(),
        versions: versions.filter((v) => v.name === m.name && v.project === m.project).map(modelVersionView),
      })),
      nextCursor: rows.length > query.limit ? encodeNameCursor(page.at(-1)!) : null,
    };
  }

  /** Runs of each owner (pipeline or sweep) by status. */
  private async runCounts(
    owner: 'pipelineId' | 'sweepId',
    ids: string[],
  ): Promise<Map<string, Partial<Record<RunStatus, number>>>> {
    if (ids.length === 0) return new Map();
    const groups = await this.prisma.run.groupBy({
      by: [owner, 'status'],
      where: { [owner]: { in: ids } },
      _count: { _all: true },
    });
    return countsByOwner(
      groups.map((g) => ({ owner: g[owner] ?? null, status: g.status as RunStatus, count: g._count._all })),
    );
  }
}
