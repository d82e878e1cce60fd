import { randomUUID } from 'node:crypto';
import { RunViewSchema, type RunSpec } from '@trainyard/contracts';
import { MetricCompactionRepository } from './metric-compaction.repository';
import { MetricsRepository, type MetricPointInput } from './metrics.repository';
import type { MetricPoint } from './model-types';
import { ROLLUP_BLOCK } from './metric-summaries.sql';
import type { Database } from './open-database';
import { RunHousekeepingRepository } from './run-housekeeping.repository';
import { RunsRepository } from './runs.repository';
import { useMigratedDatabase } from './testing';
import { metricPointView, runView } from './views';

const spec = { kind: 'pretrain', name: 'c' } as unknown as RunSpec;
const DAY_MS = 86_400_000;
const at = new Date('2026-01-01T00:00:00.000Z');
const point = (name: string, step: number, value: number): MetricPointInput => ({
  name,
  step,
  epoch: Math.floor(step / 100),
  value,
  wallTime: new Date(at.getTime() + step * 1000),
});

/**
 * A loss over 4 blocks that falls, with a spike in the middle of block 1 and a dip in block 2 (ties
 * on the min at steps 700 and 710: the earlier is the block's), a val_loss of 3 points a block
 * (short blocks keep everything) and a one-point test score.
 */
function curves(): MetricPointInput[] {
  const points: MetricPointInput[] = [];
  for (let step = 0; step < 4 * ROLLUP_BLOCK; step++) {
    let value = 2 - step / 1000 + 0.01 * Math.sin(step);
    if (step === 300) value = 100;
    if (step === 700 || step === 710) value = -5;
    points.push(point('loss', step, value));
  }
  for (let step = 0; step < 4 * ROLLUP_BLOCK; step += 100) points.push(point('val_loss', step, 1 / (step + 1)));
  points.push(point('test/accuracy', 1023, 0.9));
  return points;
}

/** What compaction keeps of `points`: of each block of a series with more than 4 points, its first, min, max and last (ties to the earlier step). */
function kept(points: MetricPointInput[]): string[] {
  const blocks = new Map<string, MetricPointInput[]>();
  for (const p of points) {
    const key = `${p.name}\u0000${Math.floor(p.step / ROLLUP_BLOCK)}`;
    blocks.set(key, [...(blocks.get(key) ?? []), p]);
  }
  const keep = new Set<string>();
  for (const block of blocks.values()) {
    const bySteps = [...block].sort((a, b) => a.step - b.step);
    const chosen =
      block.length <= 4
        ? bySteps
        : [
            bySteps[0]!,
            bySteps.at(-1)!,
            bySteps.reduce((m, p) => (p.value < m.value ? p : m)),
            bySteps.reduce((m, p) => (p.value > m.value ? p : m)),
          ];
    for (const p of chosen) keep.add(`${p.name}@${p.step}`);
  }
  return [...keep].sort();
}

describe('MetricCompactionRepository (PostgreSQL)', () => {
  let db: Database;
  let metrics: MetricsRepository;
  let runs: RunsRepository;
  let compaction: MetricCompactionRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    metrics = new MetricsRepository(db.prisma);
    runs = new RunsRepository(db.prisma);
    compaction = new MetricCompactionRepository(db.prisma);
  });
  beforeEach(async () => {
    await db.prisma.$executeRaw`TRUNCATE "runs" CASCADE`;
  });

  /** A run with `points`, in `status`, ended `endedDaysAgo` (null: not ended). */
  async function runWith(
    points: MetricPointInput[],
    status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'RUNNING' | 'QUEUED' | 'PREEMPTED' = 'SUCCEEDED',
    endedDaysAgo: number | null = 2,
  ): Promise<string> {
    const { id } = await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'c', spec, baseRunId: null });
    await metrics.write(id, null, points);
    const endedAt = endedDaysAgo === null ? null : new Date(Date.now() - endedDaysAgo * DAY_MS);
    await db.prisma.$executeRaw`
      UPDATE "runs" SET "status" = ${status}::text::"RunStatus", "ended_at" = ${endedAt} WHERE "id" = ${id}::uuid`;
    return id;
  }
  const stored = async (runId: string) => (await metrics.series(runId)).map((p) => `${p.name}@${p.step}`).sort();
  const rollups = (runId: string) =>
    db.prisma.metricRollup.findMany({ where: { runId }, orderBy: [{ name: 'asc' }, { block: 'asc' }] });
  const charts = async (runId: string, maxPoints: number) => {
    const extents = await metrics.seriesExtents(runId);
    return Promise.all(extents.map((e) => metrics.downsampledSeries(runId, e, maxPoints)));
  };
  const dayAgo = () => new Date(Date.now() - DAY_MS);
  /** The run's rows in each table, as name@step. */
  const rowsIn = async (table: 'metric_points' | 'compacted_metric_points', runId: string) =>
    (
      await db.prisma.$queryRawUnsafe<{ k: string }[]>(
        `SELECT "name" || '@' || "step" AS k FROM "${table}" WHERE "run_id" = $1::uuid`,
        runId,
      )
    )
      .map((r) => r.k)
      .sort();
  const asView = (p: MetricPoint) => metricPointView({ ...p, id: BigInt(p.id) });
  /** Every series of the run read a page of `size` at a time, as a streamed answer reads it. */
  const paged = async (runId: string, size: number) => {
    const pages = [];
    for await (const page of metrics.seriesPages(runId, undefined, size)) pages.push(...page);
    return pages;
  };

  it('keeps each block’s first, min, max and last points, and leaves summaries, rollups and charts as they were', async () => {
    const points = curves();
    const runId = await runWith(points);
    const before = {
      summaries: await metrics.summaries(runId),
      rollups: await rollups(runId),
      // 10 points: 4 buckets of one block each, drawn from the rollups.
      chart: await charts(runId, 10),
    };
    expect(before.chart[0]!.some((p) => p.step === 300 && p.value === 100)).toBe(true);
    const view = async () =>
      RunViewSchema.parse(runView(await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })));
    expect((await view()).metricsCompactedAt).toBeNull();

    const newest = await metrics.newestPointId(runId);
    const keptRows = (await metrics.series(runId)).filter((p) => kept(points).includes(`${p.name}@${p.step}`));

    expect(await compaction.compactRun(runId, dayAgo(), 1_000_000)).toEqual({
      outcome: 'compacted',
      deleted: points.length - kept(points).length,
    });

    // The run's whole key range has left metric_points: the kept points are in their own table,
    // as they were (ids included), and every reader finds them there.
    expect(await rowsIn('metric_points', runId)).toEqual([]);
    expect(await rowsIn('compacted_metric_points', runId)).toEqual(kept(points));
    expect(await metrics.series(runId)).toEqual(keptRows);
    expect(await paged(runId, 5)).toEqual(keptRows.map(asView));
    expect(await metrics.newestPointId(runId)).toBe(newest);
    expect(await stored(runId)).toEqual(kept(points));
    expect(await stored(runId)).toEqual(expect.arrayContaining(['loss@300', 'loss@700']));
    expect(await stored(runId)).not.toContain('loss@710');
    // Short blocks (val_loss: 3 points a block) and single points keep everything.
    expect((await stored(runId)).filter((p) => !p.startsWith('loss@'))).toHaveLength(12);
    expect(await metrics.summaries(runId)).toEqual(before.summaries);
    expect(await rollups(runId)).toEqual(before.rollups);
    expect(await charts(runId, 10)).toEqual(before.chart);
    // The raw read: the kept points, each series in step order.
    const loss = (await metrics.series(runId, 'loss')).map((p) => p.step);
    expect(loss).toEqual([...loss].sort((a, b) => a - b));
    expect(loss.length).toBeLessThanOrEqual(16);
    const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId } });
    expect(run.metricsCompactedAt).toBeInstanceOf(Date);
    // What the API shows of the run says so.
    expect((await view()).metricsCompactedAt).toBe(run.metricsCompactedAt!.toISOString());

    // Once: the run is no longer due, and a second call deletes nothing.
    expect(await compaction.awaitingCompaction(dayAgo(), 10)).toEqual([]);
    expect(await compaction.compactRun(runId, dayAgo(), 1_000_000)).toEqual({ outcome: 'skipped', deleted: 0 });
    expect((await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).metricsCompactedAt).toEqual(
      run.metricsCompactedAt,
    );
  });

  it('leaves runs not ended, or ended too recently, untouched; takes the ended ones oldest first', async () => {
    const points = curves();
    const untouched = [
      await runWith(points, 'RUNNING', null),
      await runWith(points, 'QUEUED', null),
      await runWith(points, 'PREEMPTED', null),
      await runWith(points, 'SUCCEEDED', 0.5),
    ];
    const failed = await runWith(points, 'FAILED', 3);
    const cancelled = await runWith(points, 'CANCELLED', 2);
    const succeeded = await runWith(points, 'SUCCEEDED', 4);

    const due = await compaction.awaitingCompaction(dayAgo(), 10);
    expect(due.map((r) => r.id)).toEqual([succeeded, failed, cancelled]);
    for (const id of untouched)
      expect(await compaction.compactRun(id, dayAgo(), 1_000_000)).toEqual({ outcome: 'skipped', deleted: 0 });
    for (const { id } of due) expect((await compaction.compactRun(id, dayAgo(), 1_000_000)).outcome).toBe('compacted');

    for (const id of untouched) expect(await stored(id)).toHaveLength(points.length);
    for (const { id } of due) expect(await stored(id)).toEqual(kept(points));
  });

  it('deletes no more than its budget, a statement of blocks at a time, and finishes on a later call', async () => {
    const points = curves();
    const runId = await runWith(points);
    const oneBlockAStatement = new MetricCompactionRepository(db.prisma, 1);

    const first = await oneBlockAStatement.compactRun(runId, dayAgo(), 600);
    // Two blocks' worth (252 points each at most) fit in 600: the third would not.
    expect(first.outcome).toBe('partial');
    expect(first.deleted).toBeGreaterThan(0);
    expect(first.deleted).toBeLessThanOrEqual(600);
    expect((await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).metricsCompactedAt).toBeNull();

    // A stopping worker's: nothing more once its signal is aborted, what was done kept.
    expect(await oneBlockAStatement.compactRun(runId, dayAgo(), 1_000_000, AbortSignal.abort())).toEqual({
      outcome: 'partial',
      deleted: 0,
    });

    const second = await oneBlockAStatement.compactRun(runId, dayAgo(), 1_000_000);
    expect(second.outcome).toBe('compacted');
    expect(first.deleted + second.deleted).toBe(points.length - kept(points).length);
    expect(await stored(runId)).toEqual(kept(points));
  });

  it('compacts each run once when two reconcilers compact at once, and loses nothing', async () => {
    const points = curves();
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await runWith(points, 'SUCCEEDED', 2 + i / 100));
    const summariesBefore = await db.prisma.metricSummary.findMany({ orderBy: [{ runId: 'asc' }, { name: 'asc' }] });
    const rollupsBefore = await db.prisma.metricRollup.count();

    // Each reconciler reads the same page and walks it, as two queues' reconcilers do.
    const reconciler = async () => {
      const outcomes = [];
      for (const { id } of await compaction.awaitingCompaction(dayAgo(), 20))
        outcomes.push({ id, ...(await compaction.compactRun(id, dayAgo(), 1_000_000)) });
      return outcomes;
    };
    const [a, b] = await Promise.all([reconciler(), reconciler()]);
    const compacted = [...a!, ...b!].filter((o) => o.outcome === 'compacted').map((o) => o.id);
    expect(compacted.sort()).toEqual([...ids].sort());
    expect([...a!, ...b!].filter((o) => o.outcome !== 'compacted').every((o) => o.deleted === 0)).toBe(true);

    for (const id of ids) expect(await stored(id)).toEqual(kept(points));
    expect(await db.prisma.metricSummary.findMany({ orderBy: [{ runId: 'asc' }, { name: 'asc' }] })).toEqual(
      summariesBefore,
    );
    expect(await db.prisma.metricRollup.count()).toBe(rollupsBefore);
  });

  it('reads a point written after compaction at a kept step once, the new one, and deletes both tables with the run', async () => {
    const points = curves();
    const runId = await runWith(points);
    const other = await runWith(points);
    expect((await compaction.compactRun(runId, dayAgo(), 1_000_000)).outcome).toBe('compacted');
    expect((await compaction.compactRun(other, dayAgo(), 1_000_000)).outcome).toBe('compacted');

    // A late write to the ended run: step 300 (the spike, kept) rewritten, step 301 (dropped) again.
    await metrics.write(runId, null, [point('loss', 300, 7), point('loss', 301, 8)]);
    const loss = await metrics.series(runId, 'loss');
    expect(loss.filter((p) => p.step === 300).map((p) => p.value)).toEqual([7]);
    expect(loss.filter((p) => p.step === 301).map((p) => p.value)).toEqual([8]);
    expect(loss.map((p) => p.step)).toEqual([...new Set(loss.map((p) => p.step))].sort((a, b) => a - b));
    expect((await paged(runId, 3)).filter((p) => p.name === 'loss')).toEqual(loss.map(asView));
    // A chart drawn from the points (a bucket narrower than a block) reads the new value once too.
    const extent = (await metrics.seriesExtents(runId, ['loss']))[0]!;
    const chart = await metrics.downsampledSeries(runId, { ...extent, firstStep: 256, lastStep: 511 }, 200);
    expect(chart.filter((p) => p.step === 300).map((p) => p.value)).toEqual([7]);
    expect(await metrics.newestPointId(runId)).toBeGreaterThan(
      Math.max(...loss.filter((p) => p.step < 300).map((p) => p.id)),
    );

    // Deleting the run counts the points its series show (the kept ones, step 300 once, and step
    // 301) and removes those of both tables; the other run keeps its own.
    const housekeeping = new RunHousekeepingRepository(db.prisma);
    expect(await housekeeping.deletionPlan(runId)).toMatchObject({
      outcome: 'deletable',
      metricPoints: kept(points).length + 1,
    });
    expect(await housekeeping.delete(runId)).toMatchObject({
      outcome: 'deleted',
      metricPoints: kept(points).length + 1,
    });
    expect(await rowsIn('metric_points', runId)).toEqual([]);
    expect(await rowsIn('compacted_metric_points', runId)).toEqual([]);
    expect(await rowsIn('compacted_metric_points', other)).toEqual(kept(points));
  });
});
