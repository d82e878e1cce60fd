import {
  isTerminal,
  TERMINAL_RUN_STATUSES,
  type AttemptOutcome,
  type DataReport,
  type RunProgress,
  type RunResult,
} from '@trainyard/contracts';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import { withFence, type Fence } from './attempt-fence';
import { FencedError, RunNotFoundError, RunStateError } from './errors';
import type { FinishStatus } from './runs.repository';

export interface AttemptConclusion {
  attempt: Exclude<AttemptOutcome, 'RUNNING'>;
  /** Stored on the attempt: why it ended (failure, crash, preemption). */
  error?: string;
  run: FinishStatus;
  /**
   * Shown on the run: why it failed, or why it waits for a retry. Left out, the run keeps the one
   * it has, except a run that SUCCEEDED: an earlier attempt's "retrying after: …" is no reason of
   * its outcome (the attempts keep their errors).
   */
  failureReason?: string;
  result?: RunResult;
}

export interface AttemptWatch {
  /** The user asked to cancel (or the run was cancelled outright). */
  cancelRequested: boolean;
  /** Another attempt is now current: this one must stop and leave the run alone. */
  fenced: boolean;
}

/**
 * What a worker writes about the run it trains, each write conditional on its attempt still
 * being the run's current one (see withFence). A FencedError means the write did not happen.
 */
export class AttemptWritesRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async setBackend(fence: Fence, backend: string): Promise<void> {
    await withFence(this.prisma, fence, 'record the backend', async (tx) => {
      await tx.attempt.update({ where: { id: fence.attemptId }, data: { backend } });
      await tx.run.update({ where: { id: fence.runId }, data: { backend } });
    });
  }

  /** What the data load found (skipped files…), shown on the run before training ends. */
  async setDataReport(fence: Fence, report: DataReport): Promise<void> {
    await withFence(this.prisma, fence, 'record the data report', async (tx) => {
      await tx.run.update({
        where: { id: fence.runId },
        data: { dataReport: report as unknown as Prisma.InputJsonValue },
      });
    });
  }

  /** One conditional UPDATE: progress is frequent, a transaction per snapshot would be waste. */
  async updateProgress(fence: Fence, progress: RunProgress): Promise<void> {
    const updated = await this.prisma.$executeRaw`
      UPDATE "runs" SET "progress" = ${JSON.stringify(progress)}::jsonb, "updated_at" = now()
      WHERE "id" = ${fence.runId}::uuid AND "current_attempt_id" = ${fence.attemptId}::uuid`;
    if (updated === 0) await this.explainFenced(fence, 'update progress');
  }

  /**
   * Closes the attempt and sets the run's status atomically and fenced, so a run never shows an
   * outcome its attempt does not. A terminal run keeps its outcome; finishing it again with the
   * same status is a no-op, with another a RunStateError.
   *
   * The common case, a current attempt ending a run that has not ended, is one statement: its
   * UPDATE of the run row re-checks the fence under the row lock, as opening an attempt takes it,
   * so it lands before a replacement or not at all. Anything else (fenced, ended, gone) takes the
   * fenced transaction, which tells which it is.
   */
  async conclude(fence: Fence, c: AttemptConclusion): Promise<void> {
    const failureReason = c.failureReason ?? null;
    const keepsReason = c.failureReason === undefined && c.run !== 'SUCCEEDED';
    const concluded = await this.prisma.$executeRaw`
      WITH "run" AS (
        UPDATE "runs" SET "status" = ${c.run}::text::"RunStatus",
          "ended_at" = CASE WHEN ${isTerminal(c.run)} THEN now() ELSE "ended_at" END,
          "failure_reason" = CASE WHEN ${keepsReason} THEN "failure_reason" ELSE ${failureReason}::text END,
          "result" = COALESCE(${c.result === undefined ? null : JSON.stringify(c.result)}::jsonb, "result"),
          "updated_at" = now()
        WHERE "id" = ${fence.runId}::uuid AND "current_attempt_id" = ${fence.attemptId}::uuid
          AND "status"::text <> ALL (${[...TERMINAL_RUN_STATUSES]}::text[])
        RETURNING "id"
      )
      UPDATE "attempts" SET "outcome" = ${c.attempt}::text::"AttemptOutcome", "error" = ${c.error ?? null}::text,
        "ended_at" = now()
      WHERE "id" = ${fence.attemptId}::uuid AND EXISTS (SELECT 1 FROM "run")`;
    if (concluded === 0) await this.concludeFenced(fence, c);
  }

  private async concludeFenced(fence: Fence, c: AttemptConclusion): Promise<void> {
    await withFence(this.prisma, fence, `finish it as ${c.run}`, async (tx) => {
      await tx.attempt.update({
        where: { id: fence.attemptId },
        data: { outcome: c.attempt, error: c.error ?? null, endedAt: new Date() },
      });
      const data: Prisma.RunUpdateManyMutationInput = { status: c.run };
      if (isTerminal(c.run)) data.endedAt = new Date();
      if (c.failureReason !== undefined || c.run === 'SUCCEEDED') data.failureReason = c.failureReason ?? null;
      if (c.result !== undefined) data.result = c.result as unknown as Prisma.InputJsonValue;
      const { count } = await tx.run.updateMany({
        where: { id: fence.runId, status: { notIn: [...TERMINAL_RUN_STATUSES] } },
        data,
      });
      if (count > 0) return;
      const run = await tx.run.findUniqueOrThrow({ where: { id: fence.runId }, select: { status: true } });
      if (run.status !== c.run) throw new RunStateError(fence.runId, run.status, `finish it as ${c.run}`);
    });
  }

  /** Polled by the worker while training: one cheap read tells it to cancel or that it was replaced. */
  async watch(fence: Fence): Promise<AttemptWatch> {
    const run = await this.prisma.run.findUnique({
      where: { id: fence.runId },
      select: { cancelRequested: true, status: true, currentAttemptId: true },
    });
    if (!run) return { cancelRequested: true, fenced: true };
    return {
      cancelRequested: run.cancelRequested || run.status === 'CANCELLED',
      fenced: run.currentAttemptId !== fence.attemptId,
    };
  }

  private async explainFenced(fence: Fence, action: string): Promise<never> {
    const run = await this.prisma.run.findUnique({ where: { id: fence.runId }, select: { currentAttemptId: true } });
    if (!run) throw new RunNotFoundError(fence.runId);
    throw new FencedError(fence.runId, fence.attemptId, action, run.currentAttemptId);
  }
}
