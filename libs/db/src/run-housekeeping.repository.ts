import type { RunDeletionBlocker, RunView } from '@trainyard/contracts';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import { ROLLUPS_BY_WRITER, RUN_POINTS } from './metric-summaries.sql';
import { runView } from './views';

/**
 * How long deleting one run may take. A run's metric points can be millions (4 M over 10 metrics
 * took 19 s here, `npm run bench:big-run`), more than Prisma's default 5 s for an interactive
 * transaction; the deletion is one transaction so that a run is never left half deleted, so it
 * gets a bound of its own, and its points go in batches so that no statement nears the pool's
 * query deadline.
 */
export const RUN_DELETE_TIMEOUT_MS = 15 * 60_000;
/** Metric points deleted per statement when a run is deleted (under a second each here). */
export const METRIC_DELETE_BATCH = 200_000;

/** Statuses in which a worker holds, or will hold, the run: it must be cancelled before it is deleted. */
const ACTIVE_STATUSES = ['QUEUED', 'RUNNING', 'PREEMPTED'] as const;

/** What deleting a run removes from the database, and the sweep and pipeline it leaves. */
export interface RunRowsCount {
  metricPoints: number;
  attempts: number;
  checkpoints: { count: number; bytes: number };
  sweep: { id: string; name: string } | null;
  pipeline: { id: string; name: string } | null;
}

export type RunDeletionOutcome =
  | { outcome: 'not-found' }
  | { outcome: 'blocked'; blockers: RunDeletionBlocker[] }
  | ({ outcome: 'deleted' | 'deletable' } & RunRowsCount);

type Tx = Prisma.TransactionClient | PrismaClient;

/** What PATCH /v1/runs/:id changes (validated by RunUpdateSchema). */
export interface RunChange {
  name?: string;
  tags?: string[];
  addTags?: string[];
  removeTags?: string[];
  notes?: string | null;
}

/** A run's tags after a change: the list given, or the run's own with `removeTags` out and `addTags` in, each once. */
function nextTags(current: string[], change: RunChange): string[] {
  if (change.tags !== undefined) return change.tags;
  const kept = current.filter((tag) => !change.removeTags?.includes(tag));
  return [...kept, ...(change.addTags ?? []).filter((tag) => !kept.includes(tag))];
}

/**
 * What people change on runs after the fact: names, tags, notes, the archive mark, and deletion
 * with the protections that keep registered models and the runs built on a run intact.
 */
export class RunHousekeepingRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly metricDeleteBatch = METRIC_DELETE_BATCH,
  ) {}

  /**
   * Renames, retags or annotates a run; `notes` null or "" clears them. `addTags` (appended, each
   * once) and `removeTags` are applied to the tags the run has under its row lock, so concurrent
   * changes all land; past `maxTags` nothing changes and the answer says how many there would be.
   */
  async update(
    id: string,
    change: RunChange,
    maxTags: number,
  ): Promise<{ outcome: 'updated' | 'not-found' } | { outcome: 'too-many-tags'; tags: number }> {
    return this.prisma.$transaction(async (tx) => {
      const [run] = await tx.$queryRaw<
        { tags: string[] }[]
      >`SELECT "tags" FROM "runs" WHERE "id" = ${id}::uuid FOR UPDATE`;
      if (!run) return { outcome: 'not-found' } as const;
      const data: Prisma.RunUpdateInput = {};
      if (change.name !== undefined) data.name = change.name;
      if (change.notes !== undefined) data.notes = change.notes === '' ? null : change.notes;
      const tags = nextTags(run.tags, change);
      if (tags.length > maxTags) return { outcome: 'too-many-tags', tags: tags.length } as const;
      if (change.tags !== undefined || change.addTags !== undefined || change.removeTags !== undefined)
        data.tags = tags;
      await tx.run.update({ where: { id }, data });
      return { outcome: 'updated' } as const;
    });
  }

  /** Archives (keeping the first archive time) or unarchives a run; null for an unknown run. */
  async setArchived(id: string, archived: boolean): Promise<RunView | null> {
    await this.prisma.$executeRaw`
      UPDATE "runs" SET "archived_at" = ${archived ? Prisma.sql`COALESCE("archived_at", now())` : Prisma.sql`NULL`}, "updated_at" = now()
      WHERE "id" = ${id}::uuid`;
    const run = await this.prisma.run.findUnique({ where: { id } });
    return run && runView(run);
  }

  /** What deleting the run would remove, or why it may not be deleted. */
  async deletionPlan(id: string): Promise<RunDeletionOutcome> {
    return this.check(this.prisma, id, 'deletable');
  }

  /**
   * Deletes the run's rows in one transaction, the run and its checkpoints locked first, so that
   * nothing can pin them meanwhile (a model version, a fine-tune or an evaluation referring to them
   * waits on the lock, then finds them gone); its checkpoints, attempts, summaries, rollups and
   * idempotency keys go by ON DELETE CASCADE, its metric points in batches before it (a run can
   * have millions). The blockers are checked again under the lock, and only then does
   * `removeObjects` run (the run's files in the object store), before the rows go: when it fails,
   * the transaction is rolled back and the rows stay, so retrying the delete converges.
   */
  async delete(id: string, removeObjects: () => Promise<void> = async () => undefined): Promise<RunDeletionOutcome> {
    return this.prisma.$transaction(
      async (tx) => {
        const locked = await tx.$queryRaw<
          { id: string }[]
        >`SELECT "id"::text FROM "runs" WHERE "id" = ${id}::uuid FOR UPDATE`;
        if (locked.length === 0) return { outcome: 'not-found' } as const;
        await tx.$queryRaw`SELECT "id" FROM "checkpoints" WHERE "run_id" = ${id}::uuid FOR UPDATE`;
        const checked = await this.check(tx, id, 'deleted');
        if (checked.outcome !== 'deleted') return checked;
        await removeObjects();
        // The points first, a batch a statement (the trigger that deletes them with the run then
        // finds none left). Their rollups go with the run by its key: the rollup trigger, which
        // would refresh every block each batch touched, stands aside for this transaction.
        await tx.$queryRaw`SELECT set_config(${ROLLUPS_BY_WRITER}, 'on', true)`;
        for (;;) {
          const deleted = await tx.$executeRaw`
            DELETE FROM "metric_points" WHERE "id" IN (
              SELECT "id" FROM "metric_points" WHERE "run_id" = ${id}::uuid LIMIT ${this.metricDeleteBatch})`;
          if (deleted < this.metricDeleteBatch) break;
        }
        await tx.run.delete({ where: { id } });
        return checked;
      },
      { maxWait: 10_000, timeout: RUN_DELETE_TIMEOUT_MS },
    );
  }

  private async check(db: Tx, id: string, ok: 'deleted' | 'deletable'): Promise<RunDeletionOutcome> {
    const run = await db.run.findUnique({
      where: { id },
      select: {
        status: true,
        sweep: { select: { id: true, name: true } },
        pipeline: { select: { id: true, name: true, status: true } },
      },
    });
    if (!run) return { outcome: 'not-found' };
    const blockers = await this.blockers(db, id, run);
    if (blockers.length > 0) return { outcome: 'blocked', blockers };
    const [[points], attempts, checkpoints] = await Promise.all([
      // The points its series show, a compacted run's kept ones included (they go with the run by
      // their foreign key).
      db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM ${RUN_POINTS} WHERE "run_id" = ${id}::uuid`,
      db.attempt.count({ where: { runId: id } }),
      db.checkpoint.aggregate({ where: { runId: id }, _count: { _all: true }, _sum: { bytes: true } }),
    ]);
    return {
      outcome: ok,
      metricPoints: points?.n ?? 0,
      attempts,
      checkpoints: { count: checkpoints._count._all, bytes: Number(checkpoints._sum.bytes ?? 0) },
      sweep: run.sweep,
      pipeline: run.pipeline && { id: run.pipeline.id, name: run.pipeline.name },
    };
  }

  private async blockers(
    db: Tx,
    id: string,
    run: { status: string; pipeline: { id: string; name: string; status: string } | null },
  ): Promise<RunDeletionBlocker[]> {
    const blockers: RunDeletionBlocker[] = [];
    if ((ACTIVE_STATUSES as readonly string[]).includes(run.status)) {
      blockers.push({ reason: 'active', message: `Run ${id} is ${run.status}: cancel it first`, id });
    }
    const ownCheckpoints = { run: { id } };
    const [versions, derived] = await Promise.all([
      db.modelVersion.findMany({
        where: { OR: [{ runId: id }, { checkpoint: ownCheckpoints }] },
        select: { id: true, name: true, version: true },
        orderBy: { createdAt: 'asc' },
      }),
      db.run.findMany({
        where: { id: { not: id }, OR: [{ baseRunId: id }, { baseCheckpoint: ownCheckpoints }] },
        select: { id: true, name: true },
        orderBy: { createdAt: 'asc' },
        take: 50,
      }),
    ]);
    for (const v of versions) {
      blockers.push({
        reason: 'registered-model',
        message: `Model ${v.name} version ${v.version} is registered from this run's checkpoints`,
        id: v.id,
      });
    }
    for (const r of derived) {
      blockers.push({
        reason: 'base-of-run',
        message: `Run ${r.id} ("${r.name}") builds on this run: delete it first`,
        id: r.id,
      });
    }
    const pipeline = run.pipeline;
    if (pipeline?.status === 'RUNNING') {
      blockers.push({
        reason: 'running-pipeline',
        message: `Pipeline ${pipeline.id} ("${pipeline.name}") is RUNNING: cancel it first`,
        id: pipeline.id,
      });
    }
    return blockers;
  }
}
