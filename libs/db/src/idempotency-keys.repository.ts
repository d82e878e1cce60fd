import { randomUUID } from 'node:crypto';
import type { RunKind, RunSpec } from '@trainyard/contracts';
import type { Prisma, PrismaClient } from './generated/prisma/client';
import { lockedProjectLoad, submitTransaction, type ProjectLoadCheck } from './projects.repository';
import { lockRegistryReferences } from './registry-references';

export interface RunCreation {
  kind: RunKind;
  name: string;
  spec: RunSpec;
  baseRunId: string | null;
  baseCheckpointId: string | null;
  project: string;
}

export interface IdempotentRun<R> {
  /** True for the one request that created the run; false for its duplicates. */
  created: boolean;
  runId: string;
  requestHash: string;
  response: R;
}

/**
 * Expired keys one keyed submit deletes at most: a submit adds one key, so it keeps up, and a
 * year's backlog left by an upgrade is gone after a few thousand submits without one submit
 * waiting on a large delete.
 */
export const EXPIRED_KEYS_FORGOTTEN_PER_SUBMIT = 100;

/** Idempotency-Key → the run it created and the response its first request got. */
export class IdempotencyKeysRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** The run a key already created, if any: a replay is answered from it before any check that costs. */
  find<R>(key: string): Promise<IdempotentRun<R> | null> {
    return findKey<R>(this.prisma, key);
  }

  /**
   * Deletes up to `limit` keys created before `createdBefore`, the oldest first, and returns how
   * many (the runs stay). Through idempotency_keys_created_at_idx; rows another submit is deleting
   * are skipped, not waited for.
   */
  async forgetCreatedBefore(createdBefore: Date, limit = EXPIRED_KEYS_FORGOTTEN_PER_SUBMIT): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM "idempotency_keys" WHERE "key" IN (
        SELECT "key" FROM "idempotency_keys" WHERE "created_at" < ${createdBefore}
        ORDER BY "created_at" LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
  }

  /**
   * Creates the run and records the key in ONE statement: of any number of concurrent requests
   * with one key, the unique key lets exactly one insert through (the others wait for it to
   * commit, then insert nothing) and no run is created without its key. The losers read the
   * winner's row. `response` is built from the new run id.
   * With `check`, in one transaction after the check passed the project's load, read under its
   * submit lock (lockedProjectLoad). A refused request whose key was used meanwhile (the request it
   * retries won the race to the lock) gets that request's run instead: its own run must not refuse it.
   */
  async createRunOnce<R>(
    key: string,
    requestHash: string,
    run: RunCreation,
    response: (runId: string) => R,
    check?: ProjectLoadCheck,
  ): Promise<IdempotentRun<R>> {
    if (!check) return insertOnce(this.prisma, key, requestHash, run, response);
    return submitTransaction(this.prisma, run.project, true, async (tx) => {
      await lockRegistryReferences(tx, run.project, [run.spec]);
      const load = await lockedProjectLoad(tx, run.project);
      try {
        check(load);
      } catch (refusal) {
        const earlier = await findKey<R>(tx, key);
        if (earlier) return earlier;
        throw refusal;
      }
      return insertOnce(tx, key, requestHash, run, response);
    });
  }
}

type Db = Pick<Prisma.TransactionClient, '$queryRaw' | 'idempotencyKey'>;

async function findKey<R>(db: Db, key: string): Promise<IdempotentRun<R> | null> {
  const existing = await db.idempotencyKey.findUnique({ where: { key } });
  return existing
    ? { created: false, runId: existing.runId, requestHash: existing.requestHash, response: existing.response as R }
    : null;
}

async function insertOnce<R>(
  db: Db,
  key: string,
  requestHash: string,
  run: RunCreation,
  response: (runId: string) => R,
): Promise<IdempotentRun<R>> {
  const id = randomUUID();
  const body = response(id);
  const inserted = await db.$queryRaw<{ id: string }[]>`
    WITH k AS (
      INSERT INTO "idempotency_keys" ("key", "request_hash", "run_id", "response")
      VALUES (${key}, ${requestHash}, ${id}::uuid, ${JSON.stringify(body)}::jsonb)
      ON CONFLICT ("key") DO NOTHING
      RETURNING "run_id"
    )
    INSERT INTO "runs" ("id", "kind", "name", "spec", "base_run_id", "base_checkpoint_id", "project")
    SELECT k."run_id", ${run.kind}::"RunKind", ${run.name}, ${JSON.stringify(run.spec)}::jsonb,
      ${run.baseRunId}::uuid, ${run.baseCheckpointId}::uuid, ${run.project}
    FROM k
    RETURNING "id"::text AS id`;
  if (inserted.length > 0) return { created: true, runId: id, requestHash, response: body };
  const existing = await db.idempotencyKey.findUniqueOrThrow({ where: { key } });
  return {
    created: false,
    runId: existing.runId,
    requestHash: existing.requestHash,
    response: existing.response as R,
  };
}
