import { NAME_MAX_LENGTH, TEST_METRIC_PREFIX, textProblem, type MetricPointView } from '@trainyard/contracts';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import { withFence, type Fence, type Tx } from './attempt-fence';
import { FencedError, RunNotFoundError } from './errors';
import {
  downsampledSeriesStatement,
  POINT_COLUMNS,
  seriesExtentsStatement,
  seriesPageStatement,
  type PointRow,
  type SeriesExtent,
} from './metric-series.sql';
import {
  appendPoints,
  lockWriteTarget,
  POINT_KEY_INDEX,
  recomputeSummaries,
  RUN_POINTS,
  upsertPointsMergingSummaries,
} from './metric-summaries.sql';
import { toMetricPoint, type MetricPoint, type MetricPointInput, type MetricSummary } from './model-types';
import { metricPointView } from './views';

export type { MetricPointInput };

/**
 * Namespace of the per-run advisory locks taken while writing metrics (two-int form), and while
 * compacting them (MetricCompactionRepository), so a compaction never races a write.
 */
export const METRICS_LOCK_NAMESPACE = 72_707_371;

/** Metric series and their summaries, kept in step in one transaction. */
export class MetricsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Writes a batch of points, each (name, step) once: a point written again replaces the old one.
   * The common case, points not written before, is one statement (`appendPoints`): insert, merge
   * into the summaries and the rollup blocks, O(batch). A batch that rewrites existing points (a
   * resumed attempt replaying its predecessor's steps, a retried batch) fails that statement whole
   * and takes the upsert path instead: one transaction that upserts, merges the names it only
   * added to, and recomputes the names it overwrote from their series. Either way one
   * transaction, so a summary never disagrees with the points.
   */
  async write(runId: string, attemptId: string | null, points: MetricPointInput[]): Promise<void> {
    const batch = this.prepare(runId, points);
    if (batch.length === 0) return;
    if (await this.append(runId, attemptId, null, batch)) return;
    await this.prisma.$transaction(
      async (tx) => {
        const [target] = await tx.$queryRaw<WriteTarget[]>(lockWriteTarget(runId, attemptId));
        assertTarget(runId, attemptId, target);
        await writeBatch(tx, runId, attemptId, batch);
      },
      { maxWait: 10_000, timeout: 30_000 },
    );
  }

  /** `write` for a worker: nothing lands unless its attempt is still the run's current one. */
  async writeFenced(fence: Fence, points: MetricPointInput[]): Promise<void> {
    const batch = this.prepare(fence.runId, points);
    if (batch.length === 0) return;
    if (await this.append(fence.runId, fence.attemptId, fence, batch)) return;
    await withFence(this.prisma, fence, `write ${batch.length} metric points`, (tx) =>
      writeBatch(tx, fence.runId, fence.attemptId, batch),
    );
  }

  /** The fast path: true when the batch landed, false when some point already existed (nothing landed). */
  private async append(
    runId: string,
    attemptId: string | null,
    fence: Fence | null,
    batch: MetricPointInput[],
  ): Promise<boolean> {
    let rows: (WriteTarget & { current: string | null; written: number })[];
    try {
      rows = await this.prisma.$queryRaw(appendPoints(runId, attemptId, fence !== null, METRICS_LOCK_NAMESPACE, batch));
    } catch (error) {
      if (isPointKeyViolation(error)) return false;
      throw error;
    }
    const result = rows[0]!;
    assertTarget(runId, attemptId, result);
    if (fence && result.current !== fence.attemptId) {
      throw new FencedError(fence.runId, fence.attemptId, `write ${batch.length} metric points`, result.current);
    }
    return true;
  }

  /**
   * A resumed attempt restarts after the checkpoint at `step`: the points the lost attempt wrote
   * past it will be written again (or never, if sampling differs), so they go now, and every
   * summary is rebuilt from what remains. The test scores (`test/*`) go whatever their step: they
   * stand at the best checkpoint's step, which may be before `step`, and measure a training the
   * resumed attempt finishes (and tests) again. Returns how many points were superseded.
   */
  async supersedeAfter(fence: Fence, step: number): Promise<number> {
    return withFence(this.prisma, fence, `supersede metric points after step ${step}`, async (tx) => {
      await tx.$executeRaw(lockRun(fence.runId));
      // Through the (run_id, name, step) index, one range a metric that reaches past the step (its
      // rollups, kept by every path that writes points, say which): O(points removed), where
      // "run_id and step" alone read every point of the run. The prefix holds no LIKE wildcard.
      const tests = `${TEST_METRIC_PREFIX}%`;
      const removed = await tx.$executeRaw`
        DELETE FROM "metric_points" p
        USING (SELECT DISTINCT "name" FROM "metric_rollups" WHERE "run_id" = ${fence.runId}::uuid
               AND ("last_step" > ${step} OR "name" LIKE ${tests})) n
        WHERE p."run_id" = ${fence.runId}::uuid AND p."name" = n."name" AND (p."step" > ${step} OR p."name" LIKE ${tests})`;
      // Nothing past the checkpoint (a preemption saves where it stopped): the summaries still hold.
      if (removed === 0) return 0;
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

  /** Every stored point of the run (of one metric), compacted ones included, as stored: NaN stays NaN. */
  async series(runId: string, name?: string): Promise<MetricPoint[]> {
    const only = name === undefined ? Prisma.empty : Prisma.sql`AND p."name" = ${name}`;
    const rows = await this.prisma.$queryRaw<PointRow[]>`
      SELECT ${POINT_COLUMNS} FROM ${RUN_POINTS} p WHERE p."run_id" = ${runId}::uuid ${only} ORDER BY p."name", p."step"`;
    return rows.map(toMetricPoint);
  }

  summaries(runId: string): Promise<MetricSummary[]> {
    return this.prisma.metricSummary.findMany({ where: { runId }, orderBy: { name: 'asc' } });
  }

  /** Names, sizes and step ranges of a run's series (all, or those in `names`), by name. */
  seriesExtents(runId: string, names?: string[]): Promise<SeriesExtent[]> {
    return this.prisma.$queryRaw<SeriesExtent[]>(seriesExtentsStatement(runId, names));
  }

  /**
   * Every point of a run's series (all, or those in `names`), by name then step, `pageSize` at a
   * time: what a streamed answer of any length walks. The pages are keyset pages on (name, step),
   * each one range of the (run_id, name, step) index, so a page costs the same at the end of a
   * million-point series as at its start, and no connection is held between pages (a slow reader
   * holds none). Names in the rollups' order, as `seriesExtents` gives them: one series after the
   * other rather than `name = ANY(…)`, which PostgreSQL before 17 cannot read from the index in
   * order (it filters instead, reading the points of every name in between). Each page is read
   * when the consumer asks for it, and none once `signal` is aborted (a reader that went away).
   */
  async *seriesPages(
    runId: string,
    names: string[] | undefined,
    pageSize: number,
    signal?: AbortSignal,
  ): AsyncGenerator<MetricPointView[]> {
    for (const { name } of await this.seriesExtents(runId, names)) {
      let afterStep: number | null = null;
      for (;;) {
        // Before every read, not only between pages handed out: after a series of whole pages, its
        // last read finds nothing and the next series is read without the consumer asking again.
        signal?.throwIfAborted();
        const page = await this.seriesPage(runId, name, afterStep, pageSize);
        if (page.length > 0) yield page;
        if (page.length < pageSize) break;
        afterStep = page[page.length - 1]!.step;
      }
    }
  }

  /** Up to `limit` points of one series after step `afterStep` (from its first when null), by step. */
  async seriesPage(runId: string, name: string, afterStep: number | null, limit: number): Promise<MetricPointView[]> {
    const statement = seriesPageStatement(runId, name, afterStep, limit);
    return (await this.prisma.$queryRaw<PointRow[]>(statement)).map(metricPointView);
  }

  /** At most `maxPoints` real points of a series, its extremes kept: see `downsampledSeriesStatement`. */
  async downsampledSeries(runId: string, extent: SeriesExtent, maxPoints: number): Promise<MetricPointView[]> {
    const statement = downsampledSeriesStatement(runId, extent, maxPoints);
    // No more points than asked for: the series whole, as one page.
    if (!statement) return this.seriesPage(runId, extent.name, null, maxPoints);
    return (await this.prisma.$queryRaw<PointRow[]>(statement)).map(metricPointView);
  }

  /**
   * The id of the run's newest point (0 when it has none): where a live view starts. A compacted
   * run's kept points keep their ids, so its newest may be among them (a point written after the
   * compaction is newer still).
   */
  async newestPointId(runId: string): Promise<number> {
    const [row] = await this.prisma.$queryRaw<{ id: bigint | null }[]>`
      SELECT GREATEST((SELECT max("id") FROM "metric_points" WHERE "run_id" = ${runId}::uuid),
        (SELECT max("id") FROM "compacted_metric_points" WHERE "run_id" = ${runId}::uuid)) AS id`;
    return Number(row?.id ?? 0);
  }

  /**
   * Up to `limit` of the run's points written after the point `afterId`, oldest first. Ids only
   * grow, so the primary key walks only the newest rows: cheap next to a million-point series.
   * metric_points alone: a point is written there, and compaction moves only points written long
   * before (a run ended METRIC_POINTS_COMPACT_AFTER_MS ago), behind any live view's `afterId`.
   */
  async pointsAfter(runId: string, afterId: number, limit: number): Promise<MetricPointView[]> {
    const rows = await this.prisma.metricPoint.findMany({
      where: { id: { gt: afterId }, runId },
      orderBy: { id: 'asc' },
      take: limit,
    });
    return rows.map(metricPointView);
  }
}

// Serialises writers of one run: a recomputation racing another writer could otherwise miss the
// other's uncommitted points and leave a stale summary behind.
function lockRun(runId: string): Prisma.Sql {
  return Prisma.sql`SELECT pg_advisory_xact_lock(${METRICS_LOCK_NAMESPACE}::int4, hashtext(${runId}))`;
}

async function writeBatch(tx: Tx, runId: string, attemptId: string | null, batch: MetricPointInput[]): Promise<void> {
  await tx.$executeRaw(lockRun(runId));
  const overwritten = await tx.$queryRaw<{ name: string }[]>(upsertPointsMergingSummaries(runId, attemptId, batch));
  if (overwritten.length > 0)
    await tx.$executeRaw(
      recomputeSummaries(
        runId,
        overwritten.map((r) => r.name),
      ),
    );
}

interface WriteTarget {
  found: boolean;
  attempt_found: boolean;
}

/** metric_points has no foreign keys: the write's statements checked the run and attempt instead. */
function assertTarget(runId: string, attemptId: string | null, target: WriteTarget | undefined): void {
  if (!target?.found) throw new RunNotFoundError(runId);
  if (!target.attempt_found) throw new RangeError(`Attempt ${attemptId} of run ${runId} not found`);
}

/**
 * The unique violation of (run, name, step) that sends a batch from the append path to the upsert
 * path. The pg adapter names the index; the PGlite adapter only the key's columns.
 */
function isPointKeyViolation(error: unknown): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  type Cause = { kind?: string; constraint?: { index?: string; fields?: string[] } };
  const cause = (error.meta?.['driverAdapterError'] as { cause?: Cause } | undefined)?.cause;
  if (cause?.kind !== 'UniqueConstraintViolation') return false;
  const { index, fields } = cause.constraint ?? {};
  return index === POINT_KEY_INDEX || fields?.map((f) => f.replaceAll('"', '')).join(',') === 'run_id,name,step';
}

/** A batch may repeat (name, step); the last one wins, as a later write would. */
function dedupe(points: MetricPointInput[]): MetricPointInput[] {
  const byKey = new Map<string, MetricPointInput>();
  for (const point of points) byKey.set(`${point.step}\u0000${point.name}`, point);
  return [...byKey.values()];
}

/**
 * Why `name` cannot be a metric's name, or null when it can: text as the contracts define it (no
 * control character, which PostgreSQL refuses (NUL) or which forges a log line, no lone surrogate,
 * which the driver would silently store as U+FFFD) of at most NAME_MAX_LENGTH characters, as a
 * sweep's `metric`, which names one, is.
 */
function metricNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return `it is a ${typeof name}, not a string`;
  if (!name) return 'it is empty';
  if (name.length > NAME_MAX_LENGTH) return `it is ${name.length} characters long, more than ${NAME_MAX_LENGTH}`;
  return textProblem(name);
}

function assertValid(runId: string, point: MetricPointInput): void {
  const nameProblem = metricNameProblem(point.name);
  if (nameProblem) {
    // Escaped and cut short: the name goes into logs and attempt errors.
    const shown = JSON.stringify(String(point.name).slice(0, 40)) + (String(point.name).length > 40 ? '…' : '');
    throw new RangeError(`Invalid metric name ${shown} at step ${point.step} of run ${runId}: ${nameProblem}`);
  }
  const where = `metric ${JSON.stringify(point.name)} step ${point.step} of run ${runId}`;
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
