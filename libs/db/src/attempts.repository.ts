import { randomUUID } from 'node:crypto';
import { TERMINAL_RUN_STATUSES, type AttemptOutcome } from '@trainyard/contracts';
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

/** An attempts row as `to_jsonb` writes it. */
interface AttemptRow {
  id: string;
  run_id: string;
  number: number;
  worker_id: string | null;
  backend: string | null;
  started_at: string;
  ended_at: string | null;
  outcome: AttemptOutcome;
  error: string | null;
}

/** What `open_current_attempt` answers: the attempt it opened, or why it opened none. */
type OpenAttemptResult =
  | { opened: true; attempt: AttemptRow; crashed: AttemptRow[]; failures: number }
  | { opened: false; status: string | null; project?: string; atCapacity?: boolean; limit?: number };

function attemptFromRow(row: AttemptRow): Attempt {
  return {
    id: row.id,
    runId: row.run_id,
    number: row.number,
    workerId: row.worker_id,
    backend: row.backend,
    startedAt: new Date(row.started_at),
    endedAt: row.ended_at === null ? null : new Date(row.ended_at),
    outcome: row.outcome,
    error: row.error,
  };
}

/** One row per time a worker took a run; numbers count from 1 per run. */
export class AttemptsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Takes the run for a worker, atomically, holding the run row: closes attempts still RUNNING as
   * CRASHED, opens attempt max+1, and makes it the run's current attempt (the fence every later
   * write of the previous attempts fails on) with status RUNNING. A terminal run is never revived:
   * RunStateError. One round trip: the steps are the SQL function `open_current_attempt`
   * (migration 20261206130000), which takes the same locks the transaction it replaced took.
   */
  async openCurrent(
    runId: string,
    workerId: string | null,
    limits: { runningPerProject?: number } = {},
  ): Promise<OpenedAttempt> {
    const [{ opened }] = await this.prisma.$queryRaw<{ opened: OpenAttemptResult }[]>`
      SELECT "open_current_attempt"(${runId}::uuid, ${randomUUID()}::uuid, ${workerId}::text,
        ${limits.runningPerProject ?? null}::int, ${[...TERMINAL_RUN_STATUSES]}::text[],
        ${[...FAILED_ATTEMPT_OUTCOMES]}::text[]) AS opened`;
    if (!opened.opened) {
      if (opened.status === null) throw new RunNotFoundError(runId);
      if (opened.atCapacity) throw new ProjectAtCapacityError(opened.project!, opened.limit!);
      throw new RunStateError(runId, opened.status, 'open an attempt');
    }
    return {
      attempt: attemptFromRow(opened.attempt),
      crashed: opened.crashed.map(attemptFromRow),
      failures: opened.failures,
    };
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

  /**
   * Closes as CRASHED the RUNNING attempts of RUNNING runs that PostgreSQL gives `workerId` and that
   * it does not hold (not in `held`), opened more than `openedAgoMs` ago by the database's clock: a
   * live worker's heartbeat would otherwise keep them RUNNING for ever, the reconciler taking them
   * for trainings still going. PostgreSQL restored from a backup taken while they trained is the way
   * there; an outcome whose write was given up another. Their runs are then taken over as a dead
   * worker's are. Read from the running runs (runs_status_created_at_idx), not from the worker's
   * attempts, which a long-lived worker has by the ten thousand. Returns what it closed.
   */
  async closeUnheld(
    workerId: string,
    held: readonly string[],
    openedAgoMs: number,
  ): Promise<{ id: string; runId: string; number: number }[]> {
    const error = `worker ${workerId} is not training it (it holds no such attempt): PostgreSQL was restored from a backup taken while it ran, or its end was never recorded`;
    return this.prisma.$queryRaw`
      UPDATE "attempts" AS a SET "outcome" = 'CRASHED', "ended_at" = now(), "error" = ${error}
      FROM "runs" AS r
      WHERE r."status" = 'RUNNING' AND a."run_id" = r."id" AND a."worker_id" = ${workerId}
        AND a."outcome" = 'RUNNING'
        AND a."started_at" < now() - ${openedAgoMs}::double precision * interval '1 millisecond'
        AND NOT (a."id" = ANY(${[...held]}::uuid[]))
      RETURNING a."id"::text AS id, a."run_id"::text AS "runId", a."number"`;
  }

  /** The backend is known only once the engine has initialised, after the attempt opened. */
  async setBackend(attemptId: string, backend: string): Promise<void> {
    await this.prisma.attempt.update({ where: { id: attemptId }, data: { backend } });
  }

  listByRun(runId: string): Promise<Attempt[]> {
    return this.prisma.attempt.findMany({ where: { runId }, orderBy: { number: 'asc' } });
  }

  /**
   * Training time the run's attempts other than `current` used, in ms: each from its start to its
   * end, and a CRASHED one only up to its worker's last heartbeat (it was closed when the run was
   * taken over, which may be long after its worker died: that wait is not training). The time
   * between attempts is not counted. QUOTA_RUN_TRAINING_HOURS is held against it.
   */
  async trainingTimeUsedMs(runId: string, current: string): Promise<number> {
    const [row] = await this.prisma.$queryRaw<{ usedMs: number }[]>`
      SELECT COALESCE(sum(GREATEST(0, EXTRACT(EPOCH FROM (
        CASE WHEN a."outcome" = 'CRASHED' AND w."last_heartbeat_at" IS NOT NULL
          THEN LEAST(COALESCE(a."ended_at", now()), GREATEST(w."last_heartbeat_at", a."started_at"))
          ELSE COALESCE(a."ended_at", now()) END - a."started_at")) * 1000)), 0)::float8 AS "usedMs"
      FROM "attempts" a LEFT JOIN "workers" w ON w."id" = a."worker_id"
      WHERE a."run_id" = ${runId}::uuid AND a."id" <> ${current}::uuid`;
    return Math.round(row?.usedMs ?? 0);
  }

  /** CRASHED and FAILED attempts: what WORKER_MAX_ATTEMPTS bounds. */
  countFailures(runId: string): Promise<number> {
    return this.prisma.attempt.count({ where: { runId, outcome: { in: [...FAILED_ATTEMPT_OUTCOMES] } } });
  }

  /**
   * The outage of the object store the run's last attempts met: how many attempts in a row, the
   * latest ones, ended waiting for it (PREEMPTED, their error starting with STORE_OUTAGE_ERROR),
   * and when the first of them started. Null when the last ended attempt was not one.
   */
  async storeOutage(runId: string): Promise<StoreOutage | null> {
    const [row] = await this.prisma.$queryRaw<{ waits: number; since: Date | null }[]>`
      SELECT count(*)::int AS "waits", min("started_at") AS "since" FROM "attempts"
      WHERE "run_id" = ${runId}::uuid AND "ended_at" IS NOT NULL
        AND "number" > (SELECT coalesce(max("number"), 0) FROM "attempts"
          WHERE "run_id" = ${runId}::uuid AND "ended_at" IS NOT NULL
            AND NOT ("outcome" = 'PREEMPTED' AND starts_with(coalesce("error", ''), ${STORE_OUTAGE_ERROR})))`;
    return row && row.waits > 0 && row.since ? { waits: row.waits, since: row.since } : null;
  }
}

/** How an attempt given back to wait for the object store starts its error (AttemptsRepository.storeOutage). */
export const STORE_OUTAGE_ERROR = 'object store unavailable: ';

/**
 * The run's failure reason while its job waits for the object store. open_current_attempt
 * (migration 20261207100000_store_wait_reason) matches this wording and rewrites it, as the next
 * attempt opens, to "retrying after waiting for the object store (try N): …": keep the two in step.
 */
export function storeWaitReason(tries: number, delaySeconds: number, reason: string): string {
  return `waiting for the object store (try ${tries}, in ${delaySeconds} s): ${reason}`;
}

export interface StoreOutage {
  /** Attempts in a row that ended waiting for the store. */
  waits: number;
  /** When the first of them started. */
  since: Date;
}
