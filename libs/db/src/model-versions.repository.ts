import { randomUUID } from 'node:crypto';
import {
  MODEL_VERSION_MAX,
  MODEL_VERSIONS_MAX_PER_NAME,
  type ActiveRuns,
  type ModelVersionDeletion,
  type ModelVersionView,
} from '@trainyard/contracts';
import type { PrismaClient } from './generated/prisma/client';
import type { Checkpoint } from './model-types';
import { toCheckpoint } from './model-types';
import { onModelVersion, unfinishedRunsReferring } from './registry-references';
import { modelVersionView } from './views';

export type ModelVersionWithCheckpoint = ModelVersionView & { checkpoint: Checkpoint };

export type ModelVersionDeletionOutcome =
  | { outcome: 'not-found' }
  | { outcome: 'in-use'; activeRuns: ActiveRuns }
  | ({ outcome: 'deleted' } & ModelVersionDeletion);

/** A registration: the new version, or why none was written (the name holds its limit of versions, or has given its last number). */
export type ModelVersionRegistration =
  | { outcome: 'registered'; version: ModelVersionView }
  | { outcome: 'full'; versions: number }
  | { outcome: 'numbers-spent' };

class RegistrationRefused extends Error {
  constructor(readonly refusal: Exclude<ModelVersionRegistration, { outcome: 'registered' }>) {
    super(refusal.outcome);
  }
}

/** The model registry: names → versions → a run's pinned checkpoint. */
export class ModelVersionsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * The next version of `name` in its project: one past the last it was ever given (model_names),
   * from 1, so a deleted version's number is never given again. The upsert holds the name's row
   * until the version is written: registrations of one name take their numbers one at a time, and
   * are counted one at a time: none is written when the name holds MODEL_VERSIONS_MAX_PER_NAME
   * versions already, or its next number would pass MODEL_VERSION_MAX (which no spec could name).
   */
  async register(input: {
    name: string;
    project: string;
    runId: string;
    checkpointId: string;
  }): Promise<ModelVersionRegistration> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        const [numbered] = await tx.$queryRaw<{ version: number }[]>`
          INSERT INTO "model_names" ("project", "name", "last_version") VALUES (${input.project}, ${input.name}, 1)
          ON CONFLICT ("project", "name") DO UPDATE SET "last_version" = "model_names"."last_version" + 1
          RETURNING "last_version" AS "version"`;
        const version = numbered!.version;
        if (version > MODEL_VERSION_MAX) throw new RegistrationRefused({ outcome: 'numbers-spent' });
        const [held] = await tx.$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS "n" FROM "model_versions" WHERE "project" = ${input.project} AND "name" = ${input.name}`;
        if (held!.n >= MODEL_VERSIONS_MAX_PER_NAME)
          throw new RegistrationRefused({ outcome: 'full', versions: held!.n });
        const row = await tx.modelVersion.create({ data: { id: randomUUID(), ...input, version } });
        return { outcome: 'registered', version: modelVersionView(row) } as const;
      });
    } catch (error) {
      // Thrown inside, so the name's number goes back with the rollback.
      if (error instanceof RegistrationRefused) return error.refusal;
      throw error;
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

  /**
   * Removes the version from the registry (its checkpoint belongs to its run and stays; the pin
   * goes with the row, so retention and `DELETE /v1/runs/:id` may take it then), holding the row
   * FOR UPDATE while it looks for unfinished runs that fine-tune from it: a submit naming it takes
   * the row FOR KEY SHARE where it records its runs (lockRegistryReferences). A name is its
   * versions: with the last one gone, the name is gone too.
   */
  async delete(project: string, name: string, version: number): Promise<ModelVersionDeletionOutcome> {
    return this.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<{ id: string; runId: string; checkpointId: string }[]>`
        SELECT "id"::text AS "id", "run_id"::text AS "runId", "checkpoint_id"::text AS "checkpointId"
        FROM "model_versions" WHERE "project" = ${project} AND "name" = ${name} AND "version" = ${version}::int
        FOR UPDATE`;
      if (!row) return { outcome: 'not-found' } as const;
      const activeRuns = await unfinishedRunsReferring(tx, project, onModelVersion({ name, version }));
      if (activeRuns) return { outcome: 'in-use', activeRuns } as const;
      await tx.modelVersion.delete({ where: { id: row.id } });
      const remainingVersions = await tx.modelVersion.count({ where: { project, name } });
      return {
        outcome: 'deleted',
        name,
        project,
        version,
        runId: row.runId,
        checkpointId: row.checkpointId,
        remainingVersions,
      } as const;
    });
  }
}
