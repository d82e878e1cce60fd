import { randomUUID } from 'node:crypto';
import type { RunSpec } from '@trainyard/contracts';
import { AttemptsRepository } from './attempts.repository';
import { metricGoal } from './metric-goal';
import { ROLLUP_BLOCK } from './metric-summaries.sql';
import { MetricsRepository, type MetricPointInput } from './metrics.repository';
import type { MetricPoint } from './model-types';
import type { Database } from './open-database';
import { RunsRepository } from './runs.repository';
import { useMigratedDatabase } from './testing';

const spec = { kind: 'pretrain', name: 'm' } as unknown as RunSpec;

/** The summary a full recomputation must give, computed here from the stored series. */
function expectedSummary(points: MetricPoint[]) {
  const numbers = points.filter((p) => !Number.isNaN(p.value));
  const byStep = [...points].sort((a, b) => a.step - b.step);
  const goal = metricGoal(points[0]!.name);
  const ranked = [...numbers].sort(
    (a, b) => (goal === 'min' ? a.value - b.value : b.value - a.value) || a.step - b.step,
  );
  const best = ranked[0] ?? byStep[0]!;
  return {
    count: points.length,
    last: byStep.at(-1)!.value,
    lastStep: byStep.at(-1)!.step,
    min: numbers.length ? Math.min(...numbers.map((p) => p.value)) : NaN,
    max: numbers.length ? Math.max(...numbers.map((p) => p.value)) : NaN,
    best: best.value,
    bestStep: best.step,
  };
}

/**
 * Summaries are merged batch by batch and recomputed only after an overwrite or a supersede:
 * whatever the order of batches, they must equal what a recomputation from the points gives.
 */
describe('metric summaries: incremental merge', () => {
  let db: Database;
  let metrics: MetricsRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    metrics = new MetricsRepository(db.prisma);
  });

  const expectAgreement = async (runId: string) => {
    const series = await metrics.series(runId);
    const summaries = await metrics.summaries(runId);
    expect(summaries.map((s) => s.name)).toEqual([...new Set(series.map((p) => p.name))].sort());
    for (const summary of summaries) {
      const { count, last, lastStep, min, max, best, bestStep } = summary;
      expect({ name: summary.name, count, last, lastStep, min, max, best, bestStep }).toEqual({
        name: summary.name,
        ...expectedSummary(series.filter((p) => p.name === summary.name)),
      });
    }
    await expectRollupsAgree(runId);
  };

  /**
   * metric_rollups, however it was kept (merged by the append path, or the migration's triggers),
   * equals a GROUP BY of the points in blocks of ROLLUP_BLOCK: so the constant, the writer and the
   * trigger (which the overwrite and the supersede below go through) agree on the block size.
   */
  const expectRollupsAgree = async (runId: string) => {
    const rows = (sql: string) => db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(sql, runId);
    const columns = `"name", "block", "count", "first_step", "last_step", "last_value"::text, "min_step", "min_value"::text, "max_step", "max_value"::text`;
    const kept = await rows(`SELECT ${columns} FROM "metric_rollups" WHERE "run_id" = $1::uuid ORDER BY 1, 2`);
    const recomputed = await rows(`SELECT ${columns} FROM (
        SELECT p."name", p."step" / ${ROLLUP_BLOCK} AS "block", count(*)::int4 AS "count", min(p."step") AS "first_step", max(p."step") AS "last_step",
          (array_agg(p."value" ORDER BY p."step" DESC))[1] AS "last_value",
          (array_agg(p."step" ORDER BY p."value" ASC, p."step" ASC))[1] AS "min_step", min(p."value") AS "min_value",
          (array_agg(p."step" ORDER BY p."value" DESC, p."step" ASC))[1] AS "max_step", max(p."value") AS "max_value"
        FROM "metric_points" p WHERE p."run_id" = $1::uuid GROUP BY 1, 2) r ORDER BY 1, 2`);
    expect(kept).toEqual(recomputed);
  };

  it('interleaved out-of-order batches, ties, NaN and ±Infinity, an overwrite and a supersede agree with a full recompute', async () => {
    const runs = new RunsRepository(db.prisma);
    const runId = (await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'm', spec, baseRunId: null })).id;
    const { attempt } = await new AttemptsRepository(db.prisma).openCurrent(runId, null);
    const fence = { runId, attemptId: attempt.id };
    // A seeded generator: the same batches every run, so a failure reproduces.
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const values = [0.5, 0.5, 0.25, 1, NaN, Infinity, -Infinity];
    const point = (name: string, step: number): MetricPointInput => ({
      name,
      step,
      epoch: Math.floor(step / 10),
      wallTime: new Date(),
      value: random() < 0.3 ? values[Math.floor(random() * values.length)]! : Math.round(random() * 100) / 100,
    });
    const names = ['loss', 'accuracy', 'val_loss', 'nan_only'];
    // Steps of each batch drawn from 0..199 in shuffled blocks, so later batches often land below
    // earlier steps (out of order), and names interleave within a batch.
    // A few steps past the first rollup blocks make batches straddle block edges.
    const steps = [
      ...Array.from({ length: 200 }, (_, i) => i),
      ROLLUP_BLOCK - 1,
      ROLLUP_BLOCK,
      2 * ROLLUP_BLOCK - 1,
      2 * ROLLUP_BLOCK,
      700,
    ].sort(() => random() - 0.5);
    for (let from = 0; from < steps.length; from += 25) {
      const batch = steps
        .slice(from, from + 25)
        .flatMap((step) => names.filter(() => random() < 0.7).map((name) => point(name, step)));
      batch.push({ name: 'nan_only', step: 1000 + from * 10, epoch: 0, value: NaN, wallTime: new Date() });
      await metrics.writeFenced(fence, batch);
      await expectAgreement(runId);
    }
    // An overwrite (a retried write, a replayed step): the replaced values must leave min/max/best.
    const current = await metrics.series(runId, 'loss');
    const lowest = [...current].filter((p) => !Number.isNaN(p.value)).sort((a, b) => a.value - b.value)[0]!;
    await metrics.writeFenced(fence, [
      { ...lowest, value: 99, wallTime: new Date() },
      { name: 'accuracy', step: 500, epoch: 50, value: 0.75, wallTime: new Date() },
    ]);
    await expectAgreement(runId);
    // A resume from step 120: later points go, summaries rebuilt; then the replay is merged again.
    expect(await metrics.supersedeAfter(fence, 120)).toBeGreaterThan(0);
    await expectAgreement(runId);
    expect(await metrics.supersedeAfter(fence, 120)).toBe(0);
    for (let from = 121; from < 260; from += 20) {
      await metrics.write(
        runId,
        attempt.id,
        Array.from({ length: 20 }, (_, i) => from + i).flatMap((s) => names.slice(0, 3).map((n) => point(n, s))),
      );
      await expectAgreement(runId);
    }
  });

  it('an all-NaN series keeps its earliest step as best when a later batch writes a NaN at an earlier step', async () => {
    const runs = new RunsRepository(db.prisma);
    const runId = (await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'm', spec, baseRunId: null })).id;
    const { attempt } = await new AttemptsRepository(db.prisma).openCurrent(runId, null);
    const fence = { runId, attemptId: attempt.id };
    const nan = (name: string, step: number): MetricPointInput => ({
      name,
      step,
      epoch: 1,
      value: NaN,
      wallTime: new Date(),
    });
    // Goal "min" and goal "max"; then steps going backwards, as a resumed attempt's would.
    await metrics.writeFenced(fence, [nan('val_loss', 50), nan('val_accuracy', 50)]);
    await metrics.writeFenced(fence, [nan('val_loss', 10), nan('val_accuracy', 10)]);
    await expectAgreement(runId);
    await metrics.writeFenced(fence, [nan('val_loss', 30), nan('val_accuracy', 5)]);
    await expectAgreement(runId);
    expect(await metrics.summaries(runId)).toEqual([
      expect.objectContaining({ name: 'val_accuracy', best: NaN, bestStep: 5, lastStep: 50, count: 3 }),
      expect.objectContaining({ name: 'val_loss', best: NaN, bestStep: 10, lastStep: 50, count: 3 }),
    ]);
    // A number still beats every NaN, wherever it lands.
    await metrics.writeFenced(fence, [{ ...nan('val_loss', 70), value: 0.5 }]);
    await expectAgreement(runId);
    expect(await metrics.summaries(runId)).toContainEqual(
      expect.objectContaining({ name: 'val_loss', best: 0.5, bestStep: 70 }),
    );
  });

  it('rebuilds summaries after a supersede from whole rollup blocks and the points of blocks holding a NaN', async () => {
    const runs = new RunsRepository(db.prisma);
    const runId = (await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'm', spec, baseRunId: null })).id;
    const { attempt } = await new AttemptsRepository(db.prisma).openCurrent(runId, null);
    const fence = { runId, attemptId: attempt.id };
    const steps = Array.from({ length: 12 * ROLLUP_BLOCK }, (_, i) => i);
    const at = (name: string, value: (step: number) => number) =>
      steps.map((step) => ({ name, step, epoch: 0, wallTime: new Date(), value: value(step) }));
    await metrics.writeFenced(fence, [
      // NaN-free, its least value tied in many blocks (the earliest step wins), ±Infinity in some.
      ...at('loss', (s) => (s % 97 === 5 ? 0.125 : s === 3000 ? -Infinity : 1 + (s % 13) / 10)),
      // Its greatest value in a block that also holds a NaN, ties on it elsewhere.
      ...at('accuracy', (s) => (s === 700 ? NaN : s === 701 || s === 2100 ? 0.99 : s === 2900 ? Infinity : 0.5)),
      // NaN everywhere but one block.
      ...at('val_loss', (s) => (s >= ROLLUP_BLOCK * 4 && s < ROLLUP_BLOCK * 5 ? s / 1000 : NaN)),
    ]);
    await expectAgreement(runId);
    // Mid-block: the rebuilt summaries lose the -Infinity, the Infinity and the tie at 2100.
    expect(await metrics.supersedeAfter(fence, 2050)).toBe(3 * (12 * ROLLUP_BLOCK - 2051));
    await expectAgreement(runId);
    expect(await metrics.summaries(runId)).toEqual([
      expect.objectContaining({ name: 'accuracy', max: 0.99, best: 0.99, bestStep: 701, lastStep: 2050 }),
      expect.objectContaining({ name: 'loss', min: 0.125, best: 0.125, bestStep: 5, count: 2051 }),
      expect.objectContaining({ name: 'val_loss', best: (ROLLUP_BLOCK * 4) / 1000, bestStep: ROLLUP_BLOCK * 4 }),
    ]);
  });

  it('a resume supersedes the test scores whatever their step: they stand at the best checkpoint, before it', async () => {
    const runs = new RunsRepository(db.prisma);
    const runId = (await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'm', spec, baseRunId: null })).id;
    const { attempt } = await new AttemptsRepository(db.prisma).openCurrent(runId, null);
    const fence = { runId, attemptId: attempt.id };
    const point = (name: string, step: number, value: number) => ({
      name,
      step,
      epoch: 0,
      wallTime: new Date(),
      value,
    });
    await metrics.writeFenced(
      fence,
      Array.from({ length: 10 }, (_, step) => point('val_loss', step, 1 / (1 + Math.abs(step - 4)))),
    );
    // Tested at the end, at the best weights' step (4); a metric named like one, `tests/x`, is not one.
    await metrics.writeFenced(fence, [point('test/mse', 4, 0.02), point('tests/x', 4, 1)]);
    // The next attempt resumes from step 6: the old test score goes, and only it and the steps after 6.
    expect(await metrics.supersedeAfter(fence, 6)).toBe(3 + 1);
    await expectAgreement(runId);
    expect((await metrics.summaries(runId)).map((s) => [s.name, s.count])).toEqual([
      ['tests/x', 1],
      ['val_loss', 7],
    ]);
  });
});
