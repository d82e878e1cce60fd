import { Prisma, type PrismaClient } from './generated/prisma/client';
import { withFence, type Fence } from './attempt-fence';
import { metricGoal } from './metric-goal';
import { toMetricPoint, type MetricPoint, type MetricSummary } from './model-types';

export interface MetricPointInput {
  name: string;
  step: number;
  epoch: number;
  value: number;
  wallTime: Date;
}

/** Namespace of the per-run advisory locks taken while writing metrics (two-int form). */
const METRICS_LOCK_NAMESPACE = 72_707_371;

/** Metric series and their summaries, kept in step in one transaction. */
export class MetricsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * One multi-row upsert for the whole batch, then one recomputation of the touched summaries
   * from their series, in one transaction.
   */
  async write(runId: string, attemptId: string | null, points: MetricPointInput[]): Promise<void> {
    const batch = this.prepare(runId, points);
    if (batch.length === 0) return;
    await this.prisma.$transaction([
      this.prisma.$executeRaw(lockRun(runId)),
      this.prisma.$executeRaw(upsertPoints(runId, attemptId, batch)),
      this.prisma.$executeRaw(recomputeSummaries(runId, namesOf(batch))),
    ]);
  }

  /** `write` for a worker: nothing lands unless its attempt is still the run's current one. */
  async writeFenced(fence: Fence, points: MetricPointInput[]): Promise<void> {
    const batch = this.prepare(fence.runId, points);
    if (batch.length === 0) return;
    await withFence(this.prisma, fence, `write ${batch.length} metric points`, async (tx) => {
      await tx.$executeRaw(lockRun(fence.runId));
      await tx.$executeRaw(upsertPoints(fence.runId, fence.attemptId, batch));
      await tx.$executeRaw(recomputeSummaries(fence.runId, namesOf(batch)));
    });
  }

  /**
   * A resumed attempt restarts after the checkpoint at `step`: the points the lost attempt wrote
   * past it will be written again (or never, if sampling differs), so they go now, and every
   * summary is rebuilt from what remains. Returns how many points were superseded.
   */
  async supersedeAfter(fence: Fence, step: number): Promise<number> {
    return withFence(this.prisma, fence, `supersede metric points after step ${step}`, async (tx) => {
      await tx.$executeRaw(lockRun(fence.runId));
      const removed = await tx.$executeRaw`
        DELETE FROM "metric_points" WHERE "run_id" = ${fence.runId}::uuid AND "step" > ${step}`;
      const names = (
        await tx.$queryRaw<{ name: string }[]>`
          SELECT "name" FROM "metric_summaries" WHERE "run_id" = ${fence.runId}::uuid`
      ).map((r) => r.name);
      await tx.$executeRaw`
        DELETE FROM "metric_summaries" s WHERE s."run_id" = ${fence.runId}::uuid
          AND NOT EXISTS (SELECT 1 FROM "metric_points" p WHERE p."run_id" = s."run_id" AND p."name" = s."name")`;
      if (names.length > 0) await tx.$executeRaw(recomputeSummaries(fence.runId, names));
      return removed;
    });
  }

  private prepare(runId: string, points: MetricPointInput[]): MetricPointInput[] {
    const batch = dedupe(points);
    for (const point of batch) assertValid(runId, point);
    return batch;
  }

  async series(runId: string, name?: string): Promise<MetricPoint[]> {
    const rows = await this.prisma.metricPoint.findMany({
      where: { runId, name },
      orderBy: [{ name: 'asc' }, { step: 'asc' }],
    });
    return rows.map(toMetricPoint);
  }

  summaries(runId: string): Promise<MetricSummary[]> {
    return this.prisma.metricSummary.findMany({ where: { runId }, orderBy: { name: 'asc' } });
  }
}

// Serialises writers of one run: two concurrent recomputations could otherwise each miss the
// other's uncommitted points and leave a stale summary behind.
function lockRun(runId: string): Prisma.Sql {
  return Prisma.sql`SELECT pg_advisory_xact_lock(${METRICS_LOCK_NAMESPACE}::int4, hashtext(${runId}))`;
}

function namesOf(batch: MetricPointInput[]): string[] {
  return [...new Set(batch.map((p) => p.name))];
}

/**
 * Upserting on (run, name, step) is what lets a resumed attempt overwrite the points its lost
 * predecessor wrote instead of duplicating them. Doubles go over the wire as text so NaN and
 * ±Infinity survive; PostgreSQL parses them.
 */
function upsertPoints(runId: string, attemptId: string | null, batch: MetricPointInput[]): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO "metric_points" ("run_id", "attempt_id", "name", "step", "epoch", "value", "wall_time")
    SELECT ${runId}::uuid, ${attemptId}::uuid, p.name, p.step, p.epoch, p.value::float8, p.wall_time
    FROM unnest(
      ${batch.map((p) => p.name)}::text[],
      ${batch.map((p) => p.step)}::int4[],
      ${batch.map((p) => p.epoch)}::int4[],
      ${batch.map((p) => String(p.value))}::text[],
      ${batch.map((p) => p.wallTime.toISOString())}::timestamptz[]
    ) AS p(name, step, epoch, value, wall_time)
    ON CONFLICT ("run_id", "name", "step") DO UPDATE SET
      "attempt_id" = EXCLUDED."attempt_id", "epoch" = EXCLUDED."epoch",
      "value" = EXCLUDED."value", "wall_time" = EXCLUDED."wall_time"`;
}

/**
 * Rebuilds the summaries of `names` from the whole series: cheap with the (run_id, name, step)
 * index, and always right after points were superseded, unlike an incremental update.
 * best/best_step follow the goal; NaN never counts as best (PostgreSQL sorts NaN above every
 * number, so it is pushed last explicitly), and ties go to the earliest step.
 */
function recomputeSummaries(runId: string, names: string[]): Prisma.Sql {
  const goals = names.map(metricGoal);
  return Prisma.sql`
    INSERT INTO "metric_summaries"
      ("run_id", "name", "goal", "count", "last", "last_step", "min", "max", "best", "best_step", "updated_at")
    SELECT p."run_id", p."name", g.goal, count(*)::int4,
      (array_agg(p."value" ORDER BY p."step" DESC))[1],
      max(p."step"),
      min(p."value"),
      COALESCE(max(p."value") FILTER (WHERE p."value" <> 'NaN'::float8), max(p."value")),
      CASE WHEN g.goal = 'min'
        THEN (array_agg(p."value" ORDER BY p."value" = 'NaN'::float8, p."value" ASC, p."step" ASC))[1]
        ELSE (array_agg(p."value" ORDER BY p."value" = 'NaN'::float8, p."value" DESC, p."step" ASC))[1] END,
      CASE WHEN g.goal = 'min'
        THEN (array_agg(p."step" ORDER BY p."value" = 'NaN'::float8, p."value" ASC, p."step" ASC))[1]
        ELSE (array_agg(p."step" ORDER BY p."value" = 'NaN'::float8, p."value" DESC, p."step" ASC))[1] END,
      now()
    FROM "metric_points" p
    JOIN unnest(${names}::text[], ${goals}::text[]) AS g(name, goal) ON g.name = p."name"
    WHERE p."run_id" = ${runId}::uuid
    GROUP BY p."run_id", p."name", g.goal
    ON CONFLICT ("run_id", "name") DO UPDATE SET
      "goal" = EXCLUDED."goal", "count" = EXCLUDED."count", "last" = EXCLUDED."last",
      "last_step" = EXCLUDED."last_step", "min" = EXCLUDED."min", "max" = EXCLUDED."max",
      "best" = EXCLUDED."best", "best_step" = EXCLUDED."best_step", "updated_at" = EXCLUDED."updated_at"`;
}

/** A batch may repeat (name, step); the last one wins, as a later write would. */
function dedupe(points: MetricPointInput[]): MetricPointInput[] {
  const byKey = new Map<string, MetricPointInput>();
  for (const point of points) byKey.set(`${point.step}\u0000${point.name}`, point);
  return [...byKey.values()];
}

function assertValid(runId: string, point: MetricPointInput): void {
  const where = `metric "${point.name}" step ${point.step} of run ${runId}`;
  if (!point.name) throw new RangeError(`Empty metric name at step ${point.step} of run ${runId}`);
  if (!Number.isInteger(point.step) || point.step < 0 || point.step > 2_147_483_647) {
    throw new RangeError(`Invalid step for ${where}`);
  }
  if (!Number.isInteger(point.epoch) || point.epoch < 0 || point.epoch > 2_147_483_647) {
    throw new RangeError(`Invalid epoch ${point.epoch} for ${where}`);
  }
  if (typeof point.value !== 'number') throw new TypeError(`Non-numeric value for ${where}`);
  if (!(point.wallTime instanceof Date) || Number.isNaN(point.wallTime.getTime())) {
    throw new TypeError(`Invalid wallTime for ${where}`);
  }
}
