import type { Prisma, PrismaClient } from './generated/prisma/client';
import { FencedError, RunNotFoundError } from './errors';

/** The fencing token of a worker's writes: they count only while `attemptId` is the run's current attempt. */
export interface Fence {
  runId: string;
  attemptId: string;
}

export type Tx = Prisma.TransactionClient;

/**
 * Runs `fn` in one transaction that first locks the run row FOR SHARE and checks that the
 * fence's attempt is still the current one. Opening a new attempt UPDATEs that row, so it waits
 * for fenced writes in flight and every fenced write after it sees the new attempt and fails:
 * no write of a replaced attempt can land after the replacement.
 */
export async function withFence<T>(
  prisma: PrismaClient,
  fence: Fence,
  action: string,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return prisma.$transaction(
    async (tx) => {
      await assertCurrent(tx, fence, action);
      return fn(tx);
    },
    // Generous: a burst of writers (metrics of several runs) can queue for pool connections.
    { maxWait: 10_000, timeout: 30_000 },
  );
}

export async function assertCurrent(tx: Tx, fence: Fence, action: string): Promise<void> {
  const rows = await tx.$queryRaw<{ current: string | null }[]>`
    SELECT "current_attempt_id"::text AS current FROM "runs" WHERE "id" = ${fence.runId}::uuid FOR SHARE`;
  if (rows.length === 0) throw new RunNotFoundError(fence.runId);
  if (rows[0]!.current !== fence.attemptId)
    throw new FencedError(fence.runId, fence.attemptId, action, rows[0]!.current);
}
