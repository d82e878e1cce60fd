import type { RunKind, RunSpec, SweepValues } from '@trainyard/contracts';
import type { MetricSummary, Prisma, PrismaClient, Sweep } from './generated/prisma/client';
import type { Run } from './model-types';
import { lockSubmitted, submitTransaction, type ProjectLoadCheck } from './projects.repository';

export interface SweepRunCreation {
  id: string;
  kind: RunKind;
  name: string;
  spec: RunSpec;
  baseRunId: string | null;
  baseCheckpointId: string | null;
  params: SweepValues;
}

export type SweepWithRuns = Sweep & { runs: (Run & { summaries: MetricSummary[] })[] };

/** A sweep and its runs, written in one transaction so a sweep never exists half-made. */
export class SweepsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * With `check`, nothing is written unless the check passed the project's load, read under its
   * submit lock in the same transaction (lockedProjectLoad).
   */
  async create(
    sweep: { id: string; name: string; spec: unknown; project: string },
    runs: SweepRunCreation[],
    check?: ProjectLoadCheck,
  ): Promise<void> {
    // The project's submit lock is taken only with a check: only then is there a turn to wait for.
    await submitTransaction(this.prisma, sweep.project, check !== undefined, async (tx) => {
      await lockSubmitted(
        tx,
        sweep.project,
        runs.map((run) => run.spec),
        check,
      );
      await tx.sweep.create({
        data: { id: sweep.id, name: sweep.name, spec: sweep.spec as Prisma.InputJsonValue, project: sweep.project },
      });
      await tx.run.createMany({
        data: runs.map((run) => ({
          id: run.id,
          kind: run.kind,
          name: run.name,
          spec: run.spec as unknown as Prisma.InputJsonValue,
          baseRunId: run.baseRunId,
          baseCheckpointId: run.baseCheckpointId,
          sweepId: sweep.id,
          sweepParams: run.params as Prisma.InputJsonValue,
          project: sweep.project,
        })),
      });
    });
  }

  async get(id: string): Promise<SweepWithRuns | null> {
    const sweep = await this.prisma.sweep.findUnique({
      where: { id },
      include: { runs: { include: { metricSummaries: true }, orderBy: { name: 'asc' } } },
    });
    if (!sweep) return null;
    return {
      ...sweep,
      runs: sweep.runs.map(({ metricSummaries, ...run }) => ({ ...run, summaries: metricSummaries })),
    };
  }
}
