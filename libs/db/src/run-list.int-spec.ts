import { randomUUID } from 'node:crypto';
import type { RunSpec } from '@trainyard/contracts';
import { InvalidCursorError } from './errors';
import { Prisma } from './generated/prisma/client';
import { MetricsRepository } from './metrics.repository';
import type { Database } from './open-database';
import type { RunListQuery } from './run-list.query';
import { RunsRepository } from './runs.repository';
import { useMigratedDatabase } from './testing';

const spec = { kind: 'pretrain', name: 'l' } as unknown as RunSpec;

describe('RunsRepository.list', () => {
  let db: Database;
  let runs: RunsRepository;
  // name -> id; values chosen to include ties, a NaN and runs without the metric.
  const ids = new Map<string, string>();
  const valLoss: Record<string, number | undefined> = {
    a: 0.5,
    b: 0.2,
    c: 0.5,
    d: undefined,
    e: 0.9,
    f: 0.2,
    g: undefined,
    h: NaN,
  };

  useMigratedDatabase(async (opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
    const metrics = new MetricsRepository(db.prisma);
    let t = Date.parse('2026-01-01T00:00:00Z');
    for (const [name, value] of Object.entries(valLoss)) {
      const id = randomUUID();
      ids.set(name, id);
      await runs.create({ id, kind: name < 'e' ? 'PRETRAIN' : 'FINETUNE', name, spec, baseRunId: null });
      // Two runs share a creation time to exercise the id tie-break.
      if (name !== 'c') t += 1000;
      await db.prisma.run.update({ where: { id }, data: { createdAt: new Date(t) } });
      if (value !== undefined) {
        await metrics.write(id, null, [{ name: 'val_loss', step: 1, epoch: 0, value, wallTime: new Date(t) }]);
      }
    }
    await runs.finish(ids.get('a') ?? '', 'FAILED');
  });

  /** Follows nextCursor to the end, returning run names page by page. */
  async function pages(q: Omit<RunListQuery, 'cursor'>): Promise<string[][]> {
    const byId = new Map([...ids].map(([name, id]) => [id, name]));
    const out: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await runs.list({ ...q, cursor });
      out.push(page.items.map((r) => byId.get(r.id) ?? '?'));
      cursor = page.nextCursor ?? undefined;
    } while (cursor && out.length < 20);
    return out;
  }

  const tieOrder = (x: string, y: string, order: 'asc' | 'desc') => {
    const [first, second] = (ids.get(x) ?? '') < (ids.get(y) ?? '') ? [x, y] : [y, x];
    return order === 'asc' ? [first, second] : [second, first];
  };

  it('sorts by creation time with stable pages and an id tie-break', async () => {
    const desc = (await pages({ sort: { by: 'createdAt' }, order: 'desc', limit: 3 })).flat();
    expect(desc).toEqual(['h', 'g', 'f', 'e', 'd', ...tieOrder('b', 'c', 'desc'), 'a']);
    const asc = await pages({ sort: { by: 'createdAt' }, order: 'asc', limit: 3 });
    expect(asc.flat()).toEqual([...desc].reverse());
    expect(asc.map((p) => p.length)).toEqual([3, 3, 2]);
  });

  it('sorts by a metric stat, ties broken by id, runs without it last', async () => {
    const q = { sort: { by: 'metric', metric: 'val_loss', stat: 'best' } } as const;
    const asc = (await pages({ ...q, order: 'asc', limit: 2 })).flat();
    // PostgreSQL orders NaN above every number.
    expect(asc).toEqual([
      ...tieOrder('b', 'f', 'asc'),
      ...tieOrder('a', 'c', 'asc'),
      'e',
      'h',
      ...tieOrder('d', 'g', 'asc'),
    ]);
    const desc = (await pages({ ...q, order: 'desc', limit: 3 })).flat();
    expect(desc).toEqual([
      'h',
      'e',
      ...tieOrder('a', 'c', 'desc'),
      ...tieOrder('b', 'f', 'desc'),
      ...tieOrder('d', 'g', 'desc'),
    ]);
  });

  it('pages one row at a time without skipping or repeating', async () => {
    const all = (
      await pages({ sort: { by: 'metric', metric: 'val_loss', stat: 'last' }, order: 'asc', limit: 200 })
    ).flat();
    const oneByOne = await pages({ sort: { by: 'metric', metric: 'val_loss', stat: 'last' }, order: 'asc', limit: 1 });
    expect(oneByOne.flat()).toEqual(all);
    expect(all).toHaveLength(8);
  });

  it('filters by status and kind, and returns summaries without the spec', async () => {
    const page = await runs.list({
      status: 'QUEUED',
      kind: 'FINETUNE',
      sort: { by: 'metric', metric: 'val_loss', stat: 'min' },
      order: 'asc',
      limit: 10,
    });
    expect(page.items.map((r) => r.name)).toEqual(['f', 'e', 'h', 'g']);
    expect(page.nextCursor).toBeNull();
    expect(page.items[0]).not.toHaveProperty('spec');
    expect(page.items[0]?.summaries).toEqual([expect.objectContaining({ name: 'val_loss', best: 0.2 })]);
    const failed = await runs.list({ status: 'FAILED', sort: { by: 'createdAt' }, order: 'desc', limit: 10 });
    expect(failed.items.map((r) => r.name)).toEqual(['a']);
  });

  it('sorts the runs of a kind by a metric they recorded (metric_names learns it from their writes)', async () => {
    const { prisma } = db;
    // The trigger on metric_summaries recorded which kinds wrote val_loss; the list asks before walking it.
    const kinds = await prisma.$queryRaw<{ kind: string }[]>`
      SELECT "kind"::text AS kind FROM "metric_names" WHERE "name" = 'val_loss' AND "project" = 'default' ORDER BY 1`;
    expect(kinds.map((k) => k.kind)).toEqual(['FINETUNE', 'PRETRAIN']);
    const pretrains = (
      await pages({
        kind: 'PRETRAIN',
        sort: { by: 'metric', metric: 'val_loss', stat: 'best' },
        order: 'asc',
        limit: 2,
      })
    ).flat();
    expect(pretrains).toEqual(['b', ...tieOrder('a', 'c', 'asc'), 'd']);
    const unknown = await runs.list({
      kind: 'EVALUATE',
      sort: { by: 'metric', metric: 'val_loss', stat: 'best' },
      order: 'asc',
      limit: 2,
    });
    expect(unknown).toEqual({ items: [], nextCursor: null });
  });

  it('refuses bad limits and foreign cursors', async () => {
    await expect(runs.list({ sort: { by: 'createdAt' }, order: 'asc', limit: 0 })).rejects.toThrow(/1\.\.200/);
    await expect(runs.list({ sort: { by: 'createdAt' }, order: 'asc', limit: 201 })).rejects.toThrow(RangeError);
    const { nextCursor } = await runs.list({ sort: { by: 'createdAt' }, order: 'asc', limit: 1 });
    await expect(
      runs.list({
        sort: { by: 'metric', metric: 'val_loss', stat: 'best' },
        order: 'asc',
        limit: 1,
        cursor: nextCursor ?? '',
      }),
    ).rejects.toThrow(InvalidCursorError);
    await expect(
      runs.list({ sort: { by: 'metric', metric: 'val_loss', stat: 'drop table' as never }, order: 'asc', limit: 1 }),
    ).rejects.toThrow(/Unknown metric stat/);
  });

  it('refuses a forged cursor whose value PostgreSQL would not take, before any SQL (issue #9)', async () => {
    const forge = (s: string, v: string | null) =>
      Buffer.from(JSON.stringify({ s, v, i: randomUUID() })).toString('base64url');
    const byTime = { sort: { by: 'createdAt' }, order: 'asc', limit: 2 } as const;
    const byLoss = { sort: { by: 'metric', metric: 'val_loss', stat: 'best' }, order: 'asc', limit: 2 } as const;
    for (const v of [
      'not a date',
      '2026-02-31 00:00:00+00',
      '2026-01-01 25:00:00+00',
      '2026-01-01 00:00:00+99',
      '2026-01-01 00:00:00\u0000',
      null,
    ]) {
      await expect(runs.list({ ...byTime, cursor: forge('createdAt:asc', v) })).rejects.toThrow(InvalidCursorError);
    }
    // Spellings of a number other than the one the list writes (issue: `1e3` and `-0` were taken).
    for (const v of [
      'abc',
      '1e999',
      '-1e999',
      '1e-999',
      '0x10',
      '1,5',
      '',
      '1e3',
      '-0',
      '1E3',
      '+1',
      '0.20',
      '.2',
      '1e15',
    ]) {
      await expect(runs.list({ ...byLoss, cursor: forge('metric:val_loss:best:asc', v) })).rejects.toThrow(
        InvalidCursorError,
      );
    }
    // What PostgreSQL itself prints is taken: the keyset continues from it.
    for (const v of ['2026-01-01 00:00:00.5+00', '2026-01-01T00:00:00Z', '2026-01-01 00:00:00+05:30']) {
      await expect(runs.list({ ...byTime, cursor: forge('createdAt:asc', v) })).resolves.toMatchObject({
        items: expect.any(Array),
      });
    }
    for (const v of ['NaN', 'Infinity', '-Infinity', '0.2', '1e-05', '0', '4e-320', null]) {
      await expect(runs.list({ ...byLoss, cursor: forge('metric:val_loss:best:asc', v) })).resolves.toMatchObject({
        items: expect.any(Array),
      });
    }
  });
});

/**
 * Every double a metric cursor can carry, written as metrics, listed one run a page both ways: each
 * cursor the list writes is taken back (the pages hold every run once, in order), and its value is
 * PostgreSQL's own text of the double (a summary stored as -0, which no writer stores, pages as 0).
 */
describe('RunsRepository.list: metric cursors of every kind of double', () => {
  let db: Database;
  let runs: RunsRepository;
  const values = [
    NaN,
    Infinity,
    -Infinity,
    5e-324,
    -5e-324,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    1e15,
    999999999999999.9,
    1e-5,
    0.0001,
    0.1 + 0.2,
    1e21,
    1e-7,
    123456.789,
    0,
    -1,
    2.2250738585072014e-308,
  ];
  const byId = new Map<string, number>();

  useMigratedDatabase(async (opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
    const metrics = new MetricsRepository(db.prisma);
    for (const value of [...values, -0]) {
      const id = randomUUID();
      byId.set(id, value);
      await runs.create({ id, kind: 'PRETRAIN', name: String(value), spec, baseRunId: null });
      await metrics.write(id, null, [{ name: 'val_loss', step: 1, epoch: 0, value, wallTime: new Date() }]);
    }
    // The writers turn -0 into 0 (its text in JavaScript); set it by hand to page over one.
    const negativeZero = [...byId].find(([, value]) => Object.is(value, -0))![0];
    await db.prisma
      .$executeRaw`UPDATE "metric_summaries" SET "best" = '-0'::float8 WHERE "run_id" = ${negativeZero}::uuid`;
  });

  it.each(['asc', 'desc'] as const)(
    "%s, one run a page: every cursor is taken back, in PostgreSQL's spelling",
    async (order) => {
      const query = { sort: { by: 'metric', metric: 'val_loss', stat: 'best' }, order, limit: 1 } as const;
      const seen: string[] = [];
      const cursorValues: (string | null)[] = [];
      let cursor: string | undefined;
      do {
        const page = await runs.list({ ...query, cursor });
        seen.push(...page.items.map((item) => item.id));
        cursor = page.nextCursor ?? undefined;
        if (cursor)
          cursorValues.push((JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { v: string | null }).v);
      } while (cursor);
      const expected = await db.prisma.$queryRaw<{ id: string; text: string }[]>`
      SELECT "run_id"::text AS id, "best"::text AS text FROM "metric_summaries" WHERE "name" = 'val_loss'
      ORDER BY "best" ${order === 'asc' ? Prisma.sql`ASC` : Prisma.sql`DESC`}, "run_id" ${order === 'asc' ? Prisma.sql`ASC` : Prisma.sql`DESC`}`;
      expect(seen).toEqual(expected.map((row) => row.id));
      expect(cursorValues).toEqual(expected.slice(0, -1).map((row) => (row.text === '-0' ? '0' : row.text)));
      expect(expected.map((row) => row.text)).toContain('-0');
    },
  );
});

/**
 * `spec.dataset.split.assign=position` finds the image-folder runs stored before key splits, whose
 * specs lack the field though they split by position (splitAsRecorded), as well as those that say so.
 */
describe('RunsRepository.list: spec.dataset.split.assign=position', () => {
  let runs: RunsRepository;
  const ids = new Map<string, string>();
  const folder = { name: 'image-folder', datasetId: '0b6c7a8e-1f3e-4a51-9d3c-2b8f3f1e2d4c' };
  const stored: Record<string, unknown> = {
    before: { ...folder, split: { validation: 0.1, test: 0.2, seed: 3 } },
    position: { ...folder, split: { validation: 0.1, test: 0.2, seed: 3, assign: 'position' } },
    key: { ...folder, split: { validation: 0.1, test: 0.2, seed: 3, assign: 'key' } },
    noSplit: { ...folder },
    nullSplit: { ...folder, split: null },
    mnist: { name: 'mnist' },
  };

  useMigratedDatabase(async (db) => {
    runs = new RunsRepository(db.prisma);
    for (const [name, dataset] of Object.entries(stored)) {
      const id = randomUUID();
      ids.set(name, id);
      await runs.create({ id, kind: 'PRETRAIN', name, spec, baseRunId: null });
      // As stored by the release that wrote it (the spec's dataset verbatim).
      await db.prisma
        .$executeRaw`UPDATE "runs" SET "spec" = jsonb_set("spec", '{dataset}', ${JSON.stringify(dataset)}::jsonb) WHERE "id" = ${id}::uuid`;
    }
  });

  const names = async (filters: { path: string[]; value: string | number }[]) => {
    const byId = new Map([...ids].map(([name, id]) => [id, name]));
    const page = await runs.list({ spec: filters, sort: { by: 'createdAt' }, order: 'asc', limit: 50 });
    return page.items.map((item) => byId.get(item.id)).sort();
  };
  const assign = (value: string) => ({ path: ['dataset', 'split', 'assign'], value });

  it('holds of the runs that say position and of those stored before the field', async () => {
    expect(await names([assign('position')])).toEqual(['before', 'noSplit', 'nullSplit', 'position']);
    expect(await names([assign('key')])).toEqual(['key']);
    expect(await names([assign('position'), { path: ['dataset', 'split', 'seed'], value: 3 }])).toEqual([
      'before',
      'position',
    ]);
    expect(await names([assign('position'), { path: ['dataset', 'name'], value: 'mnist' }])).toEqual([]);
  });
});
