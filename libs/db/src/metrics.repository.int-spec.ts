import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSpec } from '@trainyard/contracts';
import { AttemptsRepository } from './attempts.repository';
import { FencedError, RunNotFoundError } from './errors';
import { MetricsRepository, type MetricPointInput } from './metrics.repository';
import { openDatabase, type Database } from './open-database';
import { RunsRepository } from './runs.repository';
import { useMigratedDatabase } from './testing';

// PGlite's CommonJS build calls import(), which Jest's sandbox refuses: load it natively, as
// open-database.int-spec.ts does.
jest.mock('@electric-sql/pglite', () => {
  const nodeModule = Object.getPrototypeOf(jest.requireActual('node:module')) as typeof import('node:module');
  return nodeModule.createRequire(__filename)('@electric-sql/pglite');
});

const spec = { kind: 'pretrain', name: 'm' } as unknown as RunSpec;
const at = new Date('2026-01-01T00:00:00.000Z');
const point = (name: string, step: number, value: number, epoch = 0): MetricPointInput => ({
  name,
  step,
  epoch,
  value,
  wallTime: new Date(at.getTime() + step * 1000),
});

describe('MetricsRepository', () => {
  let db: Database;
  let metrics: MetricsRepository;
  let runs: RunsRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    metrics = new MetricsRepository(db.prisma);
    runs = new RunsRepository(db.prisma);
  });

  const newRun = async () =>
    (await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'm', spec, baseRunId: null })).id;

  it('writes a batch and summarises each metric by its goal', async () => {
    const runId = await newRun();
    await metrics.write(runId, null, [
      point('loss', 1, 0.9),
      point('loss', 2, 0.4),
      point('loss', 3, 0.4),
      point('loss', 4, 0.6),
      point('accuracy', 1, 0.5),
      point('accuracy', 2, 0.8),
      point('accuracy', 3, 0.7),
    ]);
    const series = await metrics.series(runId);
    expect(series.map((p) => [p.name, p.step])).toEqual([
      ['accuracy', 1],
      ['accuracy', 2],
      ['accuracy', 3],
      ['loss', 1],
      ['loss', 2],
      ['loss', 3],
      ['loss', 4],
    ]);
    expect(typeof series[0]?.id).toBe('number');
    expect(series[0]?.wallTime).toEqual(new Date(at.getTime() + 1000));
    expect((await metrics.series(runId, 'loss')).map((p) => p.value)).toEqual([0.9, 0.4, 0.4, 0.6]);

    const summaries = await metrics.summaries(runId);
    expect(summaries).toEqual([
      expect.objectContaining({
        name: 'accuracy',
        goal: 'max',
        count: 3,
        last: 0.7,
        lastStep: 3,
        min: 0.5,
        max: 0.8,
        best: 0.8,
        bestStep: 2,
      }),
      // Ties on the best value go to the earliest step.
      expect.objectContaining({
        name: 'loss',
        goal: 'min',
        count: 4,
        last: 0.6,
        lastStep: 4,
        min: 0.4,
        max: 0.9,
        best: 0.4,
        bestStep: 2,
      }),
    ]);
  });

  it('lets a resumed attempt supersede the lost steps instead of duplicating them', async () => {
    const runId = await newRun();
    const attempts = new AttemptsRepository(db.prisma);
    const first = await attempts.open(runId, null, null);
    await metrics.write(runId, first.id, [
      point('val_loss', 1, 0.5),
      point('val_loss', 2, 0.1),
      point('val_loss', 3, 0.2),
    ]);
    // Attempt 1 crashed after its checkpoint at step 1; attempt 2 replays steps 2 and 3.
    const second = await attempts.open(runId, null, null);
    await metrics.write(runId, second.id, [point('val_loss', 2, 0.3, 1), point('val_loss', 3, 0.25, 1)]);

    const series = await metrics.series(runId, 'val_loss');
    expect(series.map((p) => [p.step, p.value, p.epoch, p.attemptId])).toEqual([
      [1, 0.5, 0, first.id],
      [2, 0.3, 1, second.id],
      [3, 0.25, 1, second.id],
    ]);
    // The summary is rebuilt from the series, so the superseded 0.1 is no longer "best".
    expect((await metrics.summaries(runId))[0]).toMatchObject({
      count: 3,
      best: 0.25,
      bestStep: 3,
      min: 0.25,
      max: 0.5,
      last: 0.25,
    });
  });

  it('keeps the last of duplicate (name, step) pairs within one batch', async () => {
    const runId = await newRun();
    await metrics.write(runId, null, [point('f1', 1, 0.1), point('f1', 1, 0.2)]);
    expect((await metrics.series(runId)).map((p) => p.value)).toEqual([0.2]);
  });

  it('stores NaN and infinities without letting them win "best"', async () => {
    const runId = await newRun();
    await metrics.write(runId, null, [
      point('loss', 1, 2),
      point('loss', 2, NaN),
      point('accuracy', 1, 0.3),
      point('accuracy', 2, NaN),
    ]);
    const [accuracy, loss] = await metrics.summaries(runId);
    expect(loss).toMatchObject({ best: 2, bestStep: 1, max: 2, count: 2 });
    expect(loss?.last).toBeNaN();
    expect(accuracy).toMatchObject({ best: 0.3, bestStep: 1, max: 0.3 });
    await metrics.write(runId, null, [point('loss', 3, -Infinity)]);
    expect((await metrics.summaries(runId))[1]).toMatchObject({ best: -Infinity, min: -Infinity, bestStep: 3 });
  });

  it('keeps summaries right under concurrent writers of one run', async () => {
    const runId = await newRun();
    await Promise.all(
      [0, 1, 2, 3].map((w) =>
        metrics.write(
          runId,
          null,
          Array.from({ length: 25 }, (_, i) => point('loss', w * 25 + i, 100 - (w * 25 + i))),
        ),
      ),
    );
    expect((await metrics.summaries(runId))[0]).toMatchObject({ count: 100, best: 1, bestStep: 99, lastStep: 99 });
  });

  it('writes a large batch in one round trip', async () => {
    const runId = await newRun();
    const batch = Array.from({ length: 5000 }, (_, i) =>
      point(i % 2 ? 'loss' : 'accuracy', Math.floor(i / 2), Math.random()),
    );
    const started = Date.now();
    await metrics.write(runId, null, batch);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await metrics.summaries(runId)).map((s) => s.count)).toEqual([2500, 2500]);
  });

  it('lands a batch that rewrites any existing point whole, through the upsert path', async () => {
    const runId = await newRun();
    await metrics.write(runId, null, [point('loss', 1, 0.5), point('loss', 2, 0.1)]);
    // Step 2 exists: the one-statement append fails whole, the upsert then writes steps 2 and 3.
    await metrics.write(runId, null, [point('loss', 2, 0.3), point('loss', 3, 0.2)]);
    expect((await metrics.series(runId)).map((p) => [p.step, p.value])).toEqual([
      [1, 0.5],
      [2, 0.3],
      [3, 0.2],
    ]);
    expect((await metrics.summaries(runId))[0]).toMatchObject({
      count: 3,
      best: 0.2,
      bestStep: 3,
      min: 0.2,
      max: 0.5,
      last: 0.2,
    });
    const [rollup] = await db.prisma.metricRollup.findMany({ where: { runId } });
    expect(rollup).toMatchObject({
      block: 0,
      count: 3,
      firstStep: 1,
      lastStep: 3,
      lastValue: 0.2,
      minStep: 3,
      minValue: 0.2,
      maxStep: 1,
      maxValue: 0.5,
    });
  });

  it('writes nothing for a replaced attempt, new points or rewritten ones, and nothing for an unknown run', async () => {
    const runId = await newRun();
    const attempts = new AttemptsRepository(db.prisma);
    const { attempt: first } = await attempts.openCurrent(runId, null);
    const fence = { runId, attemptId: first.id };
    await metrics.writeFenced(fence, [point('loss', 1, 0.5)]);
    const { attempt: second } = await attempts.openCurrent(runId, null);
    await expect(metrics.writeFenced(fence, [point('loss', 2, 0.4)])).rejects.toBeInstanceOf(FencedError);
    await expect(metrics.writeFenced(fence, [point('loss', 1, 0.1), point('loss', 3, 0.1)])).rejects.toBeInstanceOf(
      FencedError,
    );
    expect((await metrics.series(runId)).map((p) => [p.step, p.value])).toEqual([[1, 0.5]]);
    expect((await metrics.summaries(runId))[0]).toMatchObject({ count: 1, best: 0.5 });
    await metrics.writeFenced({ runId, attemptId: second.id }, [point('loss', 2, 0.4)]);
    expect((await metrics.series(runId)).map((p) => [p.step, p.attemptId])).toEqual([
      [1, first.id],
      [2, second.id],
    ]);

    const unknown = randomUUID();
    await expect(metrics.write(unknown, null, [point('loss', 1, 0.5)])).rejects.toBeInstanceOf(RunNotFoundError);
    await expect(
      metrics.writeFenced({ runId: unknown, attemptId: first.id }, [point('loss', 1, 0.5)]),
    ).rejects.toBeInstanceOf(RunNotFoundError);
    expect(await metrics.series(unknown)).toEqual([]);
  });

  it("checks an unfenced write's attempt belongs to its run, on both paths (no foreign key does)", async () => {
    const runId = await newRun();
    const other = await newRun();
    const attempts = new AttemptsRepository(db.prisma);
    const own = await attempts.open(runId, null, null);
    const foreign = await attempts.open(other, null, null);
    await metrics.write(runId, own.id, [point('loss', 1, 0.5)]);
    for (const attemptId of [foreign.id, randomUUID()]) {
      await expect(metrics.write(runId, attemptId, [point('loss', 2, 0.5)])).rejects.toThrow(
        `Attempt ${attemptId} of run ${runId} not found`,
      );
      await expect(metrics.write(runId, attemptId, [point('loss', 1, 0.1)])).rejects.toThrow(
        `Attempt ${attemptId} of run ${runId} not found`,
      );
    }
    expect((await metrics.series(runId)).map((p) => [p.step, p.value, p.attemptId])).toEqual([[1, 0.5, own.id]]);
  });

  it("forgets a deleted attempt on its points and deletes a run's points with it (triggers, not foreign keys)", async () => {
    const [kept, deleted] = [await newRun(), await newRun()];
    const attempts = new AttemptsRepository(db.prisma);
    const first = await attempts.open(kept, null, null);
    const second = await attempts.open(kept, null, null);
    await metrics.write(kept, first.id, [point('loss', 1, 0.5), point('loss', 2, 0.4)]);
    await metrics.write(kept, second.id, [point('loss', 3, 0.3)]);
    await db.prisma.attempt.delete({ where: { id: first.id } });
    expect((await metrics.series(kept)).map((p) => p.attemptId)).toEqual([null, null, second.id]);

    const doomed = await attempts.open(deleted, null, null);
    await metrics.write(
      deleted,
      doomed.id,
      Array.from({ length: 600 }, (_, i) => point('loss', i, i)),
    );
    await db.prisma.run.delete({ where: { id: deleted } });
    const left = await db.prisma.$queryRaw<{ points: number; rollups: number; summaries: number }[]>`
      SELECT (SELECT count(*) FROM "metric_points" WHERE "run_id" = ${deleted}::uuid)::int4 AS points,
        (SELECT count(*) FROM "metric_rollups" WHERE "run_id" = ${deleted}::uuid)::int4 AS rollups,
        (SELECT count(*) FROM "metric_summaries" WHERE "run_id" = ${deleted}::uuid)::int4 AS summaries`;
    expect(left).toEqual([{ points: 0, rollups: 0, summaries: 0 }]);
    expect(await metrics.series(kept)).toHaveLength(3);
  });

  it('reads series in keyset pages of the size asked, by name then step, and reads no page the reader does not ask for', async () => {
    const runId = await newRun();
    await metrics.write(runId, null, [
      ...[0, 1, 2, 3, 4, 5].map((i) => point('loss', i * 10, i)), // two full pages of 3
      ...[0, 1, 2, 3].map((i) => point('accuracy', i, i / 10)), // a full page and one of 1
      point('val_loss', 7, NaN),
    ]);
    await metrics.write(await newRun(), null, [point('loss', 15, 1)]); // another run's point, between two of this one
    const read = jest.spyOn(metrics, 'seriesPage');
    const walk = async (names: string[] | undefined, pageSize: number) => {
      const pages: string[][] = [];
      for await (const page of metrics.seriesPages(runId, names, pageSize))
        pages.push(page.map((p) => `${p.name}@${p.step}`));
      return pages;
    };

    expect(await walk(undefined, 3)).toEqual([
      ['accuracy@0', 'accuracy@1', 'accuracy@2'],
      ['accuracy@3'],
      ['loss@0', 'loss@10', 'loss@20'],
      ['loss@30', 'loss@40', 'loss@50'],
      ['val_loss@7'],
    ]);
    // Each page starts after the last step read; a full page's series is read once more to find its end.
    expect(read.mock.calls.map(([, name, after, limit]) => [name, after, limit])).toEqual([
      ['accuracy', null, 3],
      ['accuracy', 2, 3],
      ['loss', null, 3],
      ['loss', 20, 3],
      ['loss', 50, 3],
      ['val_loss', null, 3],
    ]);
    expect(await walk(['val_loss', 'loss', 'nope'], 4)).toEqual([
      ['loss@0', 'loss@10', 'loss@20', 'loss@30'],
      ['loss@40', 'loss@50'],
      ['val_loss@7'],
    ]);
    // The points as the API serves them: NaN as null.
    expect(await metrics.seriesPage(runId, 'val_loss', null, 10)).toEqual([
      expect.objectContaining({ runId, attemptId: null, name: 'val_loss', step: 7, value: null }),
    ]);

    read.mockClear();
    for await (const page of metrics.seriesPages(runId, undefined, 2)) {
      expect(page).toHaveLength(2);
      break;
    }
    expect(read).toHaveBeenCalledTimes(1);
    read.mockRestore();
  });

  it('ignores an empty batch and names the bad point', async () => {
    const runId = await newRun();
    await expect(metrics.write(runId, null, [])).resolves.toBeUndefined();
    await expect(metrics.write(runId, null, [point('loss', 1.5, 1)])).rejects.toThrow(
      `Invalid step for metric "loss" step 1.5 of run ${runId}`,
    );
  });

  it('refuses a metric name PostgreSQL or a log line cannot take, naming why, and writes nothing of its batch', async () => {
    const runId = await newRun();
    const refused: [string, RegExp][] = [
      // PostgreSQL refuses NUL in text: unchecked, the batch failed with the driver's error.
      [
        'val\u0000loss',
        /^Invalid metric name "val\\u0000loss" at step 3 of run \S+: Control character U\+0000 at position 3/,
      ],
      ['loss\nINFO forged', /Control character U\+000A at position 4/],
      // Unchecked, the driver stored a lone surrogate as U+FFFD: another name than the one written.
      ['loss\ud800', /Lone UTF-16 surrogate at position 4/],
      [
        'x'.repeat(121),
        /^Invalid metric name "x{40}"… at step 3 of run \S+: it is 121 characters long, more than 120$/,
      ],
      ['', /it is empty/],
    ];
    for (const [name, reason] of refused) {
      await expect(metrics.write(runId, null, [point('loss', 1, 0.5), point(name, 3, 0.25)])).rejects.toThrow(reason);
    }
    expect(await metrics.series(runId)).toEqual([]);
    // At the bounds, and any script: written as given. Values are any double (NaN and ±Infinity too).
    const names = ['x'.repeat(120), 'loss (élan) 損失 😀', 'val_loss'];
    await metrics.write(
      runId,
      null,
      names.map((name, i) => point(name, i, [NaN, -Infinity, 0.5][i]!)),
    );
    expect((await metrics.summaries(runId)).map((s) => s.name).sort()).toEqual([...names].sort());
    await expect(
      metrics.write(runId, null, [{ ...point('loss', 9, 1), value: '1' as unknown as number }]),
    ).rejects.toThrow('Non-numeric value for metric "loss" step 9');
  });
});

describe('MetricsRepository on PGlite', () => {
  it('takes the upsert path when a batch rewrites a point (PGlite reports the unique violation differently)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trainyard-metrics-'));
    const db = await openDatabase({ embeddedPath: dir });
    try {
      const runId = (
        await new RunsRepository(db.prisma).create({
          id: randomUUID(),
          kind: 'PRETRAIN',
          name: 'm',
          spec,
          baseRunId: null,
        })
      ).id;
      const metrics = new MetricsRepository(db.prisma);
      await metrics.write(runId, null, [point('loss', 1, 0.5), point('loss', 2, 0.1)]);
      await metrics.write(runId, null, [point('loss', 2, 0.3), point('loss', 3, 0.2)]);
      expect((await metrics.series(runId)).map((p) => [p.step, p.value])).toEqual([
        [1, 0.5],
        [2, 0.3],
        [3, 0.2],
      ]);
      expect((await metrics.summaries(runId))[0]).toMatchObject({ count: 3, best: 0.2, bestStep: 3, max: 0.5 });
      expect(await db.prisma.metricRollup.findMany({ where: { runId } })).toEqual([
        expect.objectContaining({
          count: 3,
          firstStep: 1,
          lastStep: 3,
          lastValue: 0.2,
          minStep: 3,
          minValue: 0.2,
          maxStep: 1,
          maxValue: 0.5,
        }),
      ]);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
