import { Prisma, type PrismaClient } from './generated/prisma/client';

/**
 * Cancels the runs `where` selects that have not ended, in one UPDATE that decides on the status
 * it sees: a waiting one (QUEUED, PREEMPTED) becomes CANCELLED now; a RUNNING one gets
 * `cancelRequested`, and its worker stops it between batches. A held pipeline step cancelled is
 * held no more. So a worker starting one of them at
 * this moment either finds it CANCELLED or finds the flag. `alsoSet` adds assignments (each
 * followed by a comma). Each run changed, with its status after. A run's, a sweep's and a
 * pipeline's cancel all go through here.
 */
export function cancelRunsWhere(
  db: Prisma.TransactionClient | PrismaClient,
  where: Prisma.Sql,
  alsoSet: Prisma.Sql = Prisma.empty,
): Promise<{ id: string; status: string }[]> {
  return db.$queryRaw`
    UPDATE "runs" SET
      "status" = CASE WHEN "status" IN ('QUEUED', 'PREEMPTED') THEN 'CANCELLED'::"RunStatus" ELSE "status" END,
      "ended_at" = CASE WHEN "status" IN ('QUEUED', 'PREEMPTED') THEN now() ELSE "ended_at" END,
      "cancel_requested" = CASE WHEN "status" = 'RUNNING' THEN true ELSE "cancel_requested" END,
      -- A pipeline's step held for its turn is held no more once it is cancelled.
      "held" = CASE WHEN "status" IN ('QUEUED', 'PREEMPTED') THEN false ELSE "held" END,
      ${alsoSet}
      "updated_at" = now()
    WHERE ${where} AND "status" IN ('QUEUED', 'PREEMPTED', 'RUNNING')
    RETURNING "id"::text AS "id", "status"::text AS "status"`;
}
