import { isTerminal, type AttemptOutcome, type RunStatus } from '@trainyard/contracts';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import { ProjectAtCapacityError, RunNotFoundError, RunStateError } from './errors';
import type { Attempt } from './model-types';

const MAX_NUMBER_RACES = 5;

/** Outcomes that count against a run's attempts; PREEMPTED and CANCELLED ones do not. */
export const FAILED_ATTEMPT_OUTCOMES: readonly AttemptOutcome[] = ['CRASHED', 'FAILED'];

export interface OpenedAttempt {
  attempt: Attempt;
  /** Attempts that were still RUNNING (their worker died or lost its job) and are now CRASHED. */
  crashed: Attempt[];
  /** CRASHED and FAILED attempts of the run so far, this takeover's included. */
  failures: number;
}

/** One row per time a worker took a run; numbers count from 1 per run. */
export class AttemptsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Takes the run for a worker, in one transaction holding the run row: closes attempts still
   * RUNNING as CRASHED, opens attempt max+1, and makes it the run's current attempt (the fence
   * every later write of the previous attempts fails on) with status RUNNING. A terminal run is
   * never revived: RunStateError.
   */
  async openCurrent(
    runId: string,
    workerId: string | null,
    limits: { runningPerProject?: number } = {},
  ): Promise<OpenedAttempt> {
    return this.prisma.$transaction(
      async (tx) => {
        const rows = await tx.$queryRaw<{ status: string; project: string }[]>`
          SELECT "status"::text AS status, "project" FROM "runs" WHERE "id" = ${runId}::uuid FOR UPDATE`;
        if (rows.length === 0) throw new RunNotFoundError(runId);
        const { status, project } = rows[0]!;
        if (isTerminal(status as RunStatus)) throw new RunStateError(runId, status, 'open an attempt');
        const limit = limits.runningPerProject;
        // A run already RUNNING (taken over from a dead worker) holds its place; a new one needs a
        // free one. Counted under a per-project lock, so two workers never both take the last place.
        if (limit !== undefined && status !== 'RUNNING') {
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`trainyard:project-running:${project}`}))`;
          const [{ n }] = await tx.$queryRaw<{ n: number }[]>`
            SELECT count(*)::int AS n FROM "runs" WHERE "project" = ${project} AND "status" = 'RUNNING'`;
          if (n >= limit) throw new ProjectAtCapacityError(project, limit);
        }

        const stale = await tx.attempt.findMany({ where: { runId, outcome: 'RUNNING' } });
        const crashed: Attempt[] = [];
        for (const a of stale) {
          crashed.push(
            await tx.attempt.update({
              where: { id: a.id },
              data: {
                outcome: 'CRASHED',
                endedAt: new Date(),
                error: `worker ${a.workerId ?? '?'} stopped or lost the job without closing the attempt`,
              },
            }),
          );
        }
        const { _max } = await tx.attempt.aggregate({ where: { runId }, _max: { number: true } });
        const attempt = await tx.attempt.create({
          data: { runId, workerId, backend: null, number: (_max.number ?? 0) + 1 },
        });
        await tx.$executeRaw`
          UPDATE "runs" SET "current_attempt_id" = ${attempt.id}::uuid, "status" = 'RUNNING',
            "started_at" = COALESCE("started_at", now()), "updated_at" = now()
          WHERE "id" = ${runId}::uuid`;
        const failures = await tx.attempt.count({ where: { runId, outcome: { in: [...FAILED_ATTEMPT_OUTCOMES] } } });
        return { attempt, crashed, failures };
      },
      { maxWait: 10_000, timeout: 30_000 },
    );
  }

  /**
   * number = previous max + 1. Two workers racing on one run (a stalled job picked up twice)
   * collide on the (run_id, number) unique key; the loser retries with the next number.
   * Does not fence: workers use openCurrent.
   */
  async open(runId: string, workerId: string | null, backend: string | null): Promise<Attempt> {
    for (let race = 0; ; race++) {
      const { _max } = await this.prisma.attempt.aggregate({ where: { runId }, _max: { number: true } });
      try {
        return await this.prisma.attempt.create({
          data: { runId, workerId, backend, number: (_max.number ?? 0) + 1 },
        });
      } catch (error) {
        const duplicate = error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
        if (!duplicate || race >= MAX_NUMBER_RACES) throw error;
      }
    }
  }

  async close(attemptId: string, outcome: AttemptOutcome, error?: string): Promise<void> {
    await this.prisma.attempt.update({
      where: { id: attemptId },
      data: { outcome, error: error ?? null, endedAt: new Date() },
    });
  }

  /** The backend is known only once the engine has initialised, after the attempt opened. */
  async setBackend(attemptId: string, backend: string): Promise<void> {
    await this.prisma.attempt.update({ where: { id: attemptId }, data: { backend } });
  }

  listByRun(runId: string): Promise<Attempt[]> {
    return this.prisma.attempt.findMany({ where: { runId }, orderBy: { number: 'asc' } });
  }

  /** CRASHED and FAILED attempts: what WORKER_MAX_ATTEMPTS bounds. */
  countFailures(runId: string): Promise<number> {
    return this.prisma.attempt.count({ where: { runId, outcome: { in: [...FAILED_ATTEMPT_OUTCOMES] } } });
  }
}
