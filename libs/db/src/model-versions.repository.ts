import { randomUUID } from 'node:crypto';
import type { ModelVersionView } from '@trainyard/contracts';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import type { Checkpoint } from './model-types';
import { toCheckpoint } from './model-types';
import { modelVersionView } from './views';

export type ModelVersionWithCheckpoint = ModelVersionView & { checkpoint: Checkpoint };

/** Concurrent registrations of one name may pick the same next version; the loser retries. */
const VERSION_RACE_RETRIES = 5;

/** The model registry: names → versions → a run's pinned checkpoint. */
export class ModelVersionsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * The next version of `name` (previous max + 1, from 1). The unique (name, version) index
   * settles a race between two registrations: the one that loses tries the next number.
   */
  async register(input: {
    name: string;
    project: string;
    runId: string;
    checkpointId: string;
  }): Promise<ModelVersionView> {
    for (let attempt = 1; ; attempt++) {
      const max = await this.prisma.modelVersion.aggregate({
        where: { name: input.name, project: input.project },
        _max: { version: true },
      });
      try {
        return modelVersionView(
          await this.prisma.modelVersion.create({
            data: { id: randomUUID(), ...input, version: (max._max.version ?? 0) + 1 },
          }),
        );
      } catch (error) {
        const race = error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
        if (!race || attempt >= VERSION_RACE_RETRIES) throw error;
      }
    }
  }

  /** A project's versions of `name` (model names are unique within a project). */
  async versions(name: string, project: string): Promise<ModelVersionView[]> {
    return (await this.prisma.modelVersion.findMany({ where: { name, project }, orderBy: { version: 'asc' } })).map(
      modelVersionView,
    );
  }

  async get(name: string, version: number, project: string): Promise<ModelVersionWithCheckpoint | null> {
    const row = await this.prisma.modelVersion.findUnique({
      where: { project_name_version: { project, name, version } },
      include: { checkpoint: true },
    });
    if (!row) return null;
    const { checkpoint, ...versionRow } = row;
    return { ...modelVersionView(versionRow), checkpoint: toCheckpoint(checkpoint) };
  }
}
