import type {
  RunDetailView,
  RunKind,
  RunListItemView,
  RunListPage,
  RunLiveState,
  RunProgress,
  RunResult,
  RunSpec,
  RunStatus,
  RunView,
} from '@trainyard/contracts';
import { isTerminal, isUuid, RUN_STATUSES, TERMINAL_RUN_STATUSES } from '@trainyard/contracts';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import { RunNotFoundError, RunStateError } from './errors';
import { cancelRunsWhere } from './run-cancel.sql';
import { toCheckpoint, type Run } from './model-types';
import { listRuns, loadRunListItems, type RunListQuery } from './run-list.query';
import { lockSubmitted, submitTransaction, type ProjectLoadCheck } from './projects.repository';
import { attemptView, checkpointView, metricSummaryView, runLiveState, runView } from './views';

export type FinishStatus = 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'PREEMPTED';

/** Runs: the source of truth for a job's state; Redis only carries the run id. */

export class RunsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * With `check`, the run is recorded only once the check passed its project's load, read under
   * the project's submit lock in the same transaction (lockedProjectLoad).
   */
  create(
    input: {
      id: string;
      kind: RunKind;
      name: string;
      spec: RunSpec;
      baseRunId: string | null;
      baseCheckpointId?: string | null;
      /** Default "default", the project of everything made without one. */
      project?: string;
    },
    check?: ProjectLoadCheck,
  ): Promise<Run> {
    const project = input.project ?? 'default';
    const data = {
      id: input.id,
      kind: input.kind,
      name: input.name,
      spec: input.spec as unknown as Prisma.InputJsonValue,
      baseRunId: input.baseRunId,
      baseCheckpointId: input.baseCheckpointId ?? null,
      project,
    };
    if (!check) return this.prisma.run.create({ data });
    return submitTransaction(this.prisma, project, true, async (tx) => {
      await lockSubmitted(tx, project, [input.spec], check);
      return tx.run.create({ data });
    });
  }

  get(id: string): Promise<Run | null> {
    return this.prisma.run.findUnique({ where: { id } });
  }

  /** The run as `GET /v1/runs/:id` shows it; checkpoints are the COMPLETE ones only. */
  async getDetail(id: string): Promise<RunDetailView | null> {
    const run = await this.prisma.run.findUnique({
      where: { id },
      include: {
        attempts: { orderBy: { number: 'asc' } },
        metricSummaries: { orderBy: { name: 'asc' } },
        checkpoints: { where: { status: 'COMPLETE' }, orderBy: { sequence: 'asc' } },
      },
    });
    if (!run) return null;
    const { attempts, metricSummaries, checkpoints, ...row } = run;
    return {
      ...runView(row),
      attempts: attempts.map(attemptView),
      summaries: metricSummaries.map(metricSummaryView),
      checkpoints: checkpoints.map((c) => checkpointView(toCheckpoint(c))),
    };
  }

  list(q: RunListQuery): Promise<RunListPage> {
    return listRuns(this.prisma, q);
  }

  async exists(id: string): Promise<boolean> {
    return (await this.prisma.run.findUnique({ where: { id }, select: { id: true } })) !== null;
  }

  /** What a live view shows of a run and follows as it changes; null for an unknown run. */
  async liveState(id: string): Promise<RunLiveState | null> {
    const row = await this.prisma.run.findUnique({
      where: { id },
      select: { status: true, progress: true, failureReason: true, endedAt: true },
    });
    return row && runLiveState(row);
  }

  /**
   * The ended runs (SUCCEEDED, FAILED, CANCELLED) by status and kind whose `ended_at` is before
   * `endedBefore` (or unset), `endedBefore` being the database's clock less `marginMs`, to the
   * millisecond as `ended_at` is stored: one statement, so the count and its bound are of one
   * instant. It reads every ended run; countUnfinishedAndEndedSince adds those ended since.
   */
  async countEndedBefore(
    marginMs: number,
  ): Promise<{ endedBefore: Date; rows: { status: RunStatus; kind: RunKind; n: number }[] }> {
    const endedBefore = Prisma.sql`date_trunc('milliseconds', now() - make_interval(secs => ${marginMs / 1000}::float8))`;
    // The bound in the WHERE as a subquery, computed once (an InitPlan): as a join's column it would be
    // computed again for every run read, a fifth longer here.
    const rows = await this.prisma.$queryRaw<
      { endedBefore: Date; status: RunStatus | null; kind: RunKind; n: number }[]
    >`
      SELECT ${endedBefore} AS "endedBefore", c.status, c.kind, c.n
      FROM (SELECT 1) one
      LEFT JOIN (
        SELECT "status"::text AS status, "kind"::text AS kind, count(*)::int AS n FROM "runs"
        WHERE "status" IN (${Prisma.join(TERMINAL_RUN_STATUSES)})
          AND ("ended_at" < (SELECT ${endedBefore}) OR "ended_at" IS NULL)
        GROUP BY 1, 2
      ) c ON true`;
    return {
      endedBefore: rows[0]!.endedBefore,
      rows: rows.flatMap(({ status, kind, n }) => (status === null ? [] : [{ status, kind, n }])),
    };
  }

  /**
   * In one statement (one snapshot, so a run that ends meanwhile is counted once): the runs that
   * have not ended, through the status index, and the ended ones whose `ended_at` is `endedSince`
   * or later, through the `ended_at` index; by status and kind, combinations with none left out.
   */
  countUnfinishedAndEndedSince(endedSince: Date): Promise<{ status: RunStatus; kind: RunKind; n: number }[]> {
    const unfinished = RUN_STATUSES.filter((status) => !isTerminal(status));
    return this.prisma.$queryRaw`
      SELECT "status"::text AS status, "kind"::text AS kind, count(*)::int AS n FROM "runs"
      WHERE "status" IN (${Prisma.join(unfinished)}) GROUP BY 1, 2
      UNION ALL
      SELECT "status"::text AS status, "kind"::text AS kind, count(*)::int AS n FROM "runs"
      WHERE "ended_at" >= ${endedSince}::timestamptz AND "status" IN (${Prisma.join(TERMINAL_RUN_STATUSES)})
      GROUP BY 1, 2`;
  }

  /**
   * Runs waiting for a worker (QUEUED or PREEMPTED, not held by a pipeline), by resource class,
   * with how long the longest-waiting one has waited (since its last change of state).
   */
  waitingByClass(): Promise<{ resourceClass: string; n: number; oldestWaitSeconds: number }[]> {
    return this.prisma.$queryRaw`
      SELECT COALESCE("spec"->'resources'->>'accelerator', 'any') AS "resourceClass", count(*)::int AS n,
             EXTRACT(EPOCH FROM now() - min("updated_at"))::float8 AS "oldestWaitSeconds"
      FROM "runs" WHERE "status" IN ('QUEUED', 'PREEMPTED') AND NOT "held" GROUP BY 1`;
  }

  /** Those of `ids` that name runs of `project` (anything not a run id is left out). */
  async idsInProject(ids: string[], project: string): Promise<string[]> {
    const uuids = ids.filter(isUuid);
    if (uuids.length === 0) return [];
    const rows = await this.prisma.run.findMany({ where: { id: { in: uuids }, project }, select: { id: true } });
    return rows.map((r) => r.id);
  }

  /** The runs of `ids` (of `project`, when given) as run lists show them, in the order of `ids`; unknown ids are left out. */
  listItems(ids: string[], project?: string): Promise<RunListItemView[]> {
    return loadRunListItems(this.prisma, ids, project);
  }

  /**
   * Status RUNNING and startedAt on the first attempt only (a resumed run keeps its first start).
   * A terminal run is never revived: a worker that picks up a run cancelled meanwhile gets a
   * RunStateError and should drop the job.
   */
  async markRunning(id: string, backend: string): Promise<void> {
    const updated = await this.prisma.$executeRaw`
      UPDATE "runs"
      SET "status" = 'RUNNING', "backend" = ${backend},
          "started_at" = COALESCE("started_at", now()), "updated_at" = now()
      WHERE "id" = ${id}::uuid AND "status" NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED')`;
    if (updated === 0) await this.explainMiss(id, 'mark it RUNNING');
  }

  /** Best effort: a progress snapshot for a run that vanished is not worth failing training over. */
  async updateProgress(id: string, progress: RunProgress): Promise<void> {
    await this.prisma.run.updateMany({
      where: { id },
      data: { progress: progress as unknown as Prisma.InputJsonValue },
    });
  }

  /**
   * SUCCEEDED/FAILED/CANCELLED are terminal and get endedAt; PREEMPTED goes back to the queue.
   * A terminal run keeps its outcome: finishing it again with the same status is a no-op (jobs
   * may run twice), with another status a RunStateError.
   */
  async finish(
    id: string,
    status: FinishStatus,
    extra: { failureReason?: string; result?: RunResult } = {},
  ): Promise<void> {
    const data: Prisma.RunUpdateManyMutationInput = { status };
    if (isTerminal(status)) data.endedAt = new Date();
    if (extra.failureReason !== undefined) data.failureReason = extra.failureReason;
    if (extra.result !== undefined) data.result = extra.result as unknown as Prisma.InputJsonValue;
    const { count } = await this.prisma.run.updateMany({
      where: { id, status: { notIn: [...TERMINAL_RUN_STATUSES] } },
      data,
    });
    if (count > 0) return;
    const run = await this.prisma.run.findUnique({ where: { id }, select: { status: true } });
    if (!run) throw new RunNotFoundError(id);
    if (run.status !== status) throw new RunStateError(id, run.status, `finish it as ${status}`);
  }

  /**
   * Ends a run whose cancel was asked for and whose job a worker took over (its worker died, or
   * lost its job, before it stopped between two batches): CANCELLED, its attempts still RUNNING
   * closed as CRASHED (naming their worker), and the current attempt cleared, so a worker that
   * still trains it is fenced off. False when the run had ended meanwhile.
   */
  async finishCancelled(id: string): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const updated = await tx.$executeRaw`
        UPDATE "runs" SET "status" = 'CANCELLED', "ended_at" = now(), "updated_at" = now(), "current_attempt_id" = NULL
        WHERE "id" = ${id}::uuid AND "status" IN ('QUEUED', 'RUNNING', 'PREEMPTED')`;
      if (updated === 0) return false;
      await tx.$executeRaw`
        UPDATE "attempts" SET "outcome" = 'CRASHED', "ended_at" = now(),
          "error" = 'worker ' || coalesce("worker_id", '?') || ' stopped or lost the job before it stopped for the cancel'
        WHERE "run_id" = ${id}::uuid AND "outcome" = 'RUNNING'`;
      return true;
    });
  }

  /**
   * Marks FAILED, with the reason, those of `ids` still QUEUED, in one statement; returns how many.
   * A run a worker already started (its job landed after all) or that ended otherwise keeps its status.
   */
  async failQueued(ids: readonly string[], failureReason: string): Promise<number> {
    const { count } = await this.prisma.run.updateMany({
      where: { id: { in: [...ids] }, status: 'QUEUED' },
      data: { status: 'FAILED', failureReason, endedAt: new Date() },
    });
    return count;
  }

  /**
   * QUEUED/PREEMPTED runs are cancelled at once (no worker holds them); a RUNNING run only gets
   * the flag, and its worker stops between batches (cancelRunsWhere).
   */
  async requestCancel(id: string): Promise<RunView | null> {
    await cancelRunsWhere(this.prisma, Prisma.sql`"id" = ${id}::uuid`);
    const run = await this.get(id);
    return run && runView(run);
  }

  /**
   * Cancels every run of a sweep that has not ended, in one statement, as `requestCancel` does
   * one run: the ids cancelled now (they were waiting) and those whose workers were asked to stop.
   */
  async requestCancelOfSweep(sweepId: string): Promise<{ cancelled: string[]; stopping: string[] }> {
    const rows = await cancelRunsWhere(this.prisma, Prisma.sql`"sweep_id" = ${sweepId}::uuid`);
    return {
      cancelled: rows.filter((r) => r.status === 'CANCELLED').map((r) => r.id),
      stopping: rows.filter((r) => r.status === 'RUNNING').map((r) => r.id),
    };
  }

  /** True when the run's worker should stop: the flag is set, or the run was cancelled outright. */
  async isCancelRequested(id: string): Promise<boolean> {
    const run = await this.prisma.run.findUnique({ where: { id }, select: { cancelRequested: true, status: true } });
    return run !== null && (run.cancelRequested || run.status === 'CANCELLED');
  }

  private async explainMiss(id: string, action: string): Promise<never> {
    const run = await this.prisma.run.findUnique({ where: { id }, select: { status: true } });
    if (!run) throw new RunNotFoundError(id);
    throw new RunStateError(id, run.status, action);
  }
}
