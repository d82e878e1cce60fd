import type { Placement, RunKind } from '@trainyard/contracts';
import type { PrismaClient } from './generated/prisma/client';
import { FAILED_ATTEMPT_OUTCOMES } from './attempts.repository';
import { liveWorker } from './worker-state';

export interface UnfinishedRun {
  id: string;
  kind: RunKind;
  status: 'QUEUED' | 'RUNNING' | 'PREEMPTED';
  /** CRASHED and FAILED attempts so far. */
  failures: number;
  /** The current attempt's worker heartbeated recently and has not stopped. */
  ownerAlive: boolean;
  /** The spec's resources and priority: which class's queue its job goes to, and how soon. */
  spec: Placement;
}

/** What the reconciler reads and writes to make the database and the queue agree. */
export class ReconciliationRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Runs that should have a live job: QUEUED (and not held by a pipeline), RUNNING or PREEMPTED, untouched since
   * `updatedBefore` (a run submitted a moment ago may not be enqueued yet).
   */
  async listUnfinished(updatedBefore: Date, heartbeatAfter: Date): Promise<UnfinishedRun[]> {
    const rows = await this.prisma.$queryRaw<
      {
        id: string;
        kind: RunKind;
        status: UnfinishedRun['status'];
        failures: number;
        owner_alive: boolean;
        placement: Placement;
      }[]
    >`
      SELECT r."id"::text AS id, r."kind"::text AS kind, r."status"::text AS status,
        jsonb_strip_nulls(jsonb_build_object('resources', r."spec"->'resources', 'priority', r."spec"->'priority'))
          AS placement,
        (SELECT count(*)::int4 FROM "attempts" a WHERE a."run_id" = r."id"
           AND a."outcome"::text = ANY(${[...FAILED_ATTEMPT_OUTCOMES]}::text[])) AS failures,
        COALESCE((SELECT ${liveWorker('w', heartbeatAfter)}
           FROM "attempts" ca JOIN "workers" w ON w."id" = ca."worker_id"
           WHERE ca."id" = r."current_attempt_id" AND ca."outcome" = 'RUNNING'), false) AS owner_alive
      FROM "runs" r
      WHERE r."status" IN ('QUEUED', 'RUNNING', 'PREEMPTED') AND NOT r."held" AND r."updated_at" < ${updatedBefore}
      ORDER BY r."created_at"
      LIMIT 1000`;
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      status: r.status,
      failures: r.failures,
      ownerAlive: r.owner_alive,
      spec: r.placement,
    }));
  }

  /**
   * Fails a run nobody can finish: closes its RUNNING attempts as CRASHED and clears the current
   * attempt, so a worker that still holds it (paused, partitioned) is fenced off too.
   * Returns false when the run had meanwhile reached a terminal state.
   */
  async fail(runId: string, reason: string): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const updated = await tx.$executeRaw`
        UPDATE "runs" SET "status" = 'FAILED', "failure_reason" = ${reason}, "ended_at" = now(),
          "updated_at" = now(), "current_attempt_id" = NULL
        WHERE "id" = ${runId}::uuid AND "status" IN ('QUEUED', 'RUNNING', 'PREEMPTED')`;
      if (updated === 0) return false;
      await tx.attempt.updateMany({
        where: { runId, outcome: 'RUNNING' },
        data: { outcome: 'CRASHED', endedAt: new Date(), error: `closed by the reconciler: ${reason}` },
      });
      return true;
    });
  }

  /** Marks a re-enqueued run as touched, so the next pass gives its new job time to be taken. */
  async touch(runId: string): Promise<void> {
    await this.prisma.$executeRaw`UPDATE "runs" SET "updated_at" = now() WHERE "id" = ${runId}::uuid`;
  }
}
