import type { WorkerState } from '@trainyard/contracts';
import { Prisma, type PrismaClient } from './generated/prisma/client';

type WorkerRow = Awaited<ReturnType<PrismaClient['worker']['findFirstOrThrow']>>;

/**
 * The one rule for a worker's state (the fleet page, the API and Prometheus all use it): stopped
 * once it said so, lost after `lostAfterMs` without a heartbeat, otherwise alive, draining or
 * drained as its drain request stands.
 */
export function workerState(
  worker: Pick<WorkerRow, 'stoppedAt' | 'lastHeartbeatAt' | 'drainRequestedAt' | 'drainedAt'>,
  lostAfterMs: number,
  now = Date.now(),
): WorkerState {
  if (worker.stoppedAt) return 'stopped';
  if (now - worker.lastHeartbeatAt.getTime() > lostAfterMs) return 'lost';
  if (worker.drainedAt) return 'drained';
  if (worker.drainRequestedAt) return 'draining';
  return 'alive';
}

/**
 * workerState's "neither stopped nor lost" as a condition on the row `table` (a table name or
 * alias, written as SQL) with `since` = now − lostAfterMs, for the queries that must pick workers
 * inside PostgreSQL: whether any could serve a run, whether a run's owner still lives
 * (runs.repository.int-spec checks it against workerState).
 */
export function liveWorker(table: string, since: Date): Prisma.Sql {
  const row = Prisma.raw(table);
  return Prisma.sql`(${row}."stopped_at" IS NULL AND ${row}."last_heartbeat_at" >= ${since})`;
}
