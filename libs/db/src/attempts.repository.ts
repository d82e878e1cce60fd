import type { AttemptOutcome } from '@trainyard/contracts';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import type { Attempt } from './model-types';

const MAX_NUMBER_RACES = 5;

/** One row per time a worker took a run; numbers count from 1 per run. */
export class AttemptsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * number = previous max + 1. Two workers racing on one run (a stalled job picked up twice)
   * collide on the (run_id, number) unique key; the loser retries with the next number.
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
}
