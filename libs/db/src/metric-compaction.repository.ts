import { TERMINAL_RUN_STATUSES } from '@trainyard/contracts';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import { METRICS_LOCK_NAMESPACE } from './metrics.repository';
import { ROLLUP_BLOCK, ROLLUPS_BY_WRITER } from './metric-summaries.sql';
import type { EndedRun } from './reconciliation.repository';

/**
 * Blocks a compaction statement reads at most: ≤ 128,000 points moved out of metric_points (≤ 2,000
 * of them kept), under METRIC_DELETE_BATCH (200,000, under a second here), so no statement nears the
 * query deadline.
 */
export const COMPACT_BLOCKS_PER_STATEMENT = 500;

/**
 * A block with this many points or fewer keeps them all: its first, min, max and last are most of
 * it, and a sampled or per-epoch metric (a few points a block) is left exactly as logged.
 */
export const COMPACT_MIN_BLOCK_POINTS = 4;

/**
 * Ended runs one reconciler pass compacts the metric points of at most, and the points it deletes
 * at most: 1.2 to 1.3 s a pass on the project's 2-core machine (`npm run bench:compaction`),
 * bounded however large the backlog (the first pass after the upgrade finds every run ever ended),
 * and still about 700 million points a day at one pass a minute, far more than runs add.
 */
export const COMPACT_RUNS_PER_PASS = 100;
export const COMPACT_POINTS_PER_PASS = 500_000;

/** How long one run's compaction transaction may take: its statements are bounded by the caller's budget. */
const COMPACT_RUN_TIMEOUT_MS = 120_000;

// Inlined, not bound, as BLOCK_OF_STEP is: the statement's arithmetic must be the trigger's.
const BLOCK = Prisma.raw(String(ROLLUP_BLOCK));

/**
 * A run whose points are due for compaction: ended (SUCCEEDED, FAILED, CANCELLED: states a run
 * never leaves) before `endedBefore`, and not compacted. The page of runs and the check under the
 * run's lock read the same.
 */
const dueForCompaction = (endedBefore: Date) =>
  Prisma.sql`"metrics_compacted_at" IS NULL AND "ended_at" < ${endedBefore}
    AND "status"::text = ANY(${[...TERMINAL_RUN_STATUSES]}::text[])`;

export type CompactionOutcome =
  /** Every block of the run is compacted: the run is marked (metrics_compacted_at), never compacted again. */
  | { outcome: 'compacted'; deleted: number }
  /** The budget (or a stop) ended it first: what was deleted stays deleted; a later pass goes on. */
  | { outcome: 'partial'; deleted: number }
  /** Another reconciler (or a metrics writer) holds the run, or it is no longer due (compacted, deleted): nothing done. */
  | { outcome: 'skipped'; deleted: 0 };

/**
 * Compaction of ended runs' per-step metric points, the one table that grew without bound: of every
 * metric_rollups block (256 steps of a series) holding more than COMPACT_MIN_BLOCK_POINTS points,
 * only the points at the block's first_step, min_step, max_step and last_step stay, moved with every
 * point of a smaller block to compacted_metric_points: the run's whole key range leaves metric_points,
 * whose indexes then reuse the emptied pages (thinned in place, every page kept a few entries and
 * none was reused). The summaries and the rollups are left as they were, so run lists, sorts and
 * the rollup-drawn charts (the steps they select are exactly the kept ones) show what they showed;
 * only a raw read of the series (RUN_POINTS, both tables) returns fewer points, and the run's
 * metricsCompactedAt says so.
 */
export class MetricCompactionRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly blocksPerStatement = COMPACT_BLOCKS_PER_STATEMENT,
  ) {}

  /**
   * Runs that ended (SUCCEEDED, FAILED, CANCELLED: states a run never leaves) before `endedBefore`
   * and whose points are not compacted, oldest first in (ended_at, id) order, at most `limit`. Reads
   * the partial index runs_awaiting_metrics_compaction_idx: only the runs still waiting (a page of
   * 100 in 0.08 ms at 200,000 ended runs, 199,900 of them compacted).
   */
  async awaitingCompaction(endedBefore: Date, limit: number): Promise<EndedRun[]> {
    return this.prisma.$queryRaw<EndedRun[]>`
      SELECT "id"::text AS id, "ended_at" AS "endedAt" FROM "runs"
      WHERE "ended_at" IS NOT NULL AND ${dueForCompaction(endedBefore)}
      ORDER BY "runs"."ended_at", "runs"."id"
      LIMIT ${limit}`;
  }

  /**
   * Compacts one run, deleting at most about `maxPoints` points (whole statements of
   * COMPACT_BLOCKS_PER_STATEMENT blocks, fewer as the budget runs out), in one transaction:
   *
   * - the run's metrics advisory lock, tried, not waited for: a second reconciler compacting it (or
   *   a writer) has it, and this one skips the run rather than queue behind it;
   * - under it the run is checked again (ended before `endedBefore`, not compacted) and share-locked
   *   (FOR KEY SHARE, SKIP LOCKED: a run being deleted or changed is skipped, and cannot be deleted
   *   meanwhile, which would have two transactions deleting its points in different orders);
   * - ROLLUPS_BY_WRITER for the transaction, so the rollup trigger leaves the blocks as they are
   *   rather than recomputing them from the points that remain;
   * - the blocks in (name, block) order, a statement's worth at a time, each moving its points out
   *   of metric_points, those at its four steps into compacted_metric_points (compactBlocksStatement);
   *   a run compacted partly before is read again from its first block (a moved block is an empty
   *   range of the index). `maxPoints` bounds the points moved out, kept or not.
   *
   * Marked compacted only when the last block is done. `signal` aborted (the worker stopping) ends
   * it between two statements, keeping what was done.
   */
  async compactRun(
    runId: string,
    endedBefore: Date,
    maxPoints: number,
    signal?: AbortSignal,
  ): Promise<CompactionOutcome> {
    return this.prisma.$transaction(
      async (tx) => {
        const [lock] = await tx.$queryRaw<{ locked: boolean }[]>`
          SELECT pg_try_advisory_xact_lock(${METRICS_LOCK_NAMESPACE}::int4, hashtext(${runId})) AS locked`;
        if (!lock?.locked) return { outcome: 'skipped', deleted: 0 } as const;
        const due = await tx.$queryRaw<{ id: string }[]>`
          SELECT "id"::text AS id FROM "runs"
          WHERE "id" = ${runId}::uuid AND ${dueForCompaction(endedBefore)}
          FOR KEY SHARE SKIP LOCKED`;
        if (due.length === 0) return { outcome: 'skipped', deleted: 0 } as const;
        // Each block read as one range of the (run_id, name, step) index: the planner, which cannot
        // estimate a join on a step range, otherwise hashed each name's points against every block
        // of the name (3.9 million comparisons for a 100,000-point run: 0.7 s a statement, not 0.3).
        // For this transaction only, as ROLLUPS_BY_WRITER.
        await tx.$queryRaw`SELECT set_config(${ROLLUPS_BY_WRITER}, 'on', true),
          set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`;

        let deleted = 0;
        let read = 0;
        let after: { name: string; block: number } | null = null;
        for (;;) {
          // At most 256 points leave metric_points per block: never past the budget.
          const blocks = Math.min(this.blocksPerStatement, Math.floor((maxPoints - read) / ROLLUP_BLOCK));
          if (blocks < 1 || signal?.aborted) return { outcome: 'partial', deleted } as const;
          const [batch]: BlockBatch[] = await tx.$queryRaw<BlockBatch[]>(compactBlocksStatement(runId, after, blocks));
          deleted += batch!.deleted;
          read += batch!.read;
          if (batch!.blocks < blocks || batch!.last_name === null) break;
          after = { name: batch!.last_name, block: batch!.last_block! };
        }
        await tx.$executeRaw`
          UPDATE "runs" SET "metrics_compacted_at" = now()
          WHERE "id" = ${runId}::uuid AND "metrics_compacted_at" IS NULL`;
        return { outcome: 'compacted', deleted } as const;
      },
      { maxWait: 10_000, timeout: COMPACT_RUN_TIMEOUT_MS },
    );
  }
}

interface BlockBatch {
  read: number;
  deleted: number;
  blocks: number;
  last_name: string | null;
  last_block: number | null;
}

/**
 * Up to `limit` of the run's blocks after `after` in (name, block) order (the rollups' primary key),
 * every point of each moved out of metric_points in one statement: the kept ones (at the block's
 * first, min, max and last step, four probes of the (run_id, name, step) index; every point of a
 * block of COMPACT_MIN_BLOCK_POINTS or fewer) copied into compacted_metric_points, ids and all, and
 * every point of the block deleted. Both read the statement's one snapshot, so the copy is of
 * exactly what the delete takes (the run's metrics lock keeps writers out meanwhile). A block's
 * whole range leaves the index: its leaf pages go back to the index's free space. A block moved
 * before (a partial compaction read again) finds nothing. A kept step the table already holds takes
 * the moved point, as the readers' rule does (metric_points wins). Returns how many points left
 * metric_points, how many of them were not kept, how many blocks were read, and the last block.
 */
function compactBlocksStatement(
  runId: string,
  after: { name: string; block: number } | null,
  limit: number,
): Prisma.Sql {
  const from = after ? Prisma.sql`AND ("name", "block") > (${after.name}, ${after.block}::int4)` : Prisma.empty;
  const inBlock = Prisma.sql`p."run_id" = ${runId}::uuid AND p."name" = b."name"
        AND p."step" >= b."block" * ${BLOCK} AND p."step" < (b."block" + 1) * ${BLOCK}`;
  const columns = Prisma.sql`p."run_id", p."name", p."step", p."id", p."attempt_id", p."epoch", p."value", p."wall_time"`;
  const few = Prisma.sql`${COMPACT_MIN_BLOCK_POINTS}::int4`;
  return Prisma.sql`
    WITH blocks AS (
      SELECT "name", "block", "count", "first_step", "min_step", "max_step", "last_step" FROM "metric_rollups"
      WHERE "run_id" = ${runId}::uuid ${from}
      ORDER BY "name", "block" LIMIT ${limit}::int4
    ), moved AS (
      INSERT INTO "compacted_metric_points" ("run_id", "name", "step", "id", "attempt_id", "epoch", "value", "wall_time")
      SELECT ${columns} FROM blocks b JOIN "metric_points" p ON p."run_id" = ${runId}::uuid AND p."name" = b."name"
        AND p."step" = ANY(ARRAY[b."first_step", b."min_step", b."max_step", b."last_step"])
      WHERE b."count" > ${few}
      UNION ALL
      SELECT ${columns} FROM blocks b JOIN "metric_points" p ON ${inBlock} WHERE b."count" <= ${few}
      ON CONFLICT ("run_id", "name", "step") DO UPDATE SET "id" = EXCLUDED."id", "attempt_id" = EXCLUDED."attempt_id",
        "epoch" = EXCLUDED."epoch", "value" = EXCLUDED."value", "wall_time" = EXCLUDED."wall_time"
      RETURNING 1
    ), gone AS (
      DELETE FROM "metric_points" p USING blocks b WHERE ${inBlock}
      RETURNING 1
    ), last AS (
      SELECT "name", "block" FROM blocks ORDER BY "name" DESC, "block" DESC LIMIT 1
    )
    SELECT (SELECT count(*)::int4 FROM gone) AS read, ((SELECT count(*) FROM gone) - (SELECT count(*) FROM moved))::int4 AS deleted,
      (SELECT count(*)::int4 FROM blocks) AS blocks, (SELECT "name" FROM last) AS last_name, (SELECT "block" FROM last) AS last_block`;
}
