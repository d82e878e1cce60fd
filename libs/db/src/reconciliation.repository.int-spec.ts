import { randomUUID } from 'node:crypto';
import type { RunSpec } from '@trainyard/contracts';
import type { CreatedCursor } from './catalog-page';
import type { Database } from './open-database';
import { ReconciliationRepository } from './reconciliation.repository';
import { RunsRepository } from './runs.repository';
import { useMigratedDatabase } from './testing';

const spec = { kind: 'pretrain', name: 'ae', dataset: { source: 'mnist' } } as unknown as RunSpec;

/**
 * The reconciler walks unfinished runs a page a pass (keyset pages), and takes the ended runs not
 * yet marked swept for their last orphan sweep a page a pass: every row once, ties in time
 * included, however many there are.
 */
describe('ReconciliationRepository walks (PostgreSQL)', () => {
  let db: Database;
  let runs: RunsRepository;
  let reconciliation: ReconciliationRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
    reconciliation = new ReconciliationRepository(db.prisma);
  });
  beforeEach(async () => {
    await db.prisma.$executeRaw`TRUNCATE "runs", "workers" CASCADE`;
  });

  /** `count` runs, `sameInstant` of them created (and ended, if `ended`) at one instant, the rest a second apart. */
  async function makeRuns(count: number, options: { sameInstant: number; ended?: boolean }): Promise<string[]> {
    const ids: string[] = [];
    const base = Date.now() - 3_600_000;
    for (let i = 0; i < count; i++) {
      const { id } = await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: `r${i}`, spec, baseRunId: null });
      const at = new Date(base + (i < options.sameInstant ? 0 : (i + 1) * 1000));
      await db.prisma.$executeRaw`
        UPDATE "runs" SET "created_at" = ${at}, "updated_at" = ${at},
          "status" = ${options.ended ? 'CANCELLED' : 'QUEUED'}::"RunStatus", "ended_at" = ${options.ended ? at : null}
        WHERE "id" = ${id}::uuid`;
      ids.push(id);
    }
    return ids;
  }

  it('pages unfinished runs by (created_at, id): each once, ties included, a short page at the end', async () => {
    const ids = await makeRuns(7, { sameInstant: 4 });
    // Held and ended runs are not the reconciler's: the walk leaves them out.
    const [held, ended] = await makeRuns(2, { sameInstant: 0 });
    await db.prisma.run.update({ where: { id: held! }, data: { held: true } });
    await db.prisma.run.update({ where: { id: ended! }, data: { status: 'SUCCEEDED', endedAt: new Date() } });

    const now = new Date();
    const pages: string[][] = [];
    let after: CreatedCursor | null = null;
    for (;;) {
      const page = await reconciliation.listUnfinished(now, now, { after, limit: 3 });
      pages.push(page.map((r) => r.id));
      const last = page.at(-1);
      if (!last || page.length < 3) break;
      after = { createdAt: last.createdAt, id: last.id };
    }
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    const tied = ids.slice(0, 4).sort();
    expect(pages.flat()).toEqual([...tied, ...ids.slice(4)]);
    // Without a page, the first 1000 as before.
    expect((await reconciliation.listUnfinished(now, now)).map((r) => r.id)).toEqual(pages.flat());
  });

  it('lists ended runs not yet swept by (ended_at, id), runs ended by one statement (one instant) included, up to a bound, until marked', async () => {
    const ids = await makeRuns(7, { sameInstant: 5, ended: true });
    const unfinished = await makeRuns(1, { sameInstant: 0 });
    const order = [...ids.slice(0, 5).sort(), ...ids.slice(5)];
    const seen: string[] = [];
    for (let pass = 0; pass < 5; pass++) {
      const page = await reconciliation.awaitingOrphanSweep(new Date(), 2);
      seen.push(...page.map((r) => r.id));
      await reconciliation.markOrphansSwept(page.map((r) => r.id));
    }
    expect(seen).toEqual(order);
    expect(seen).not.toContain(unfinished[0]);
    expect(await reconciliation.awaitingOrphanSweep(new Date(), 10)).toEqual([]);
    // Marked once: a second mark (a pass over the same page) keeps the first time.
    const markedAt = async () =>
      (await db.prisma.run.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } })).map(
        (r) => r.orphansSweptAt,
      );
    const first = await markedAt();
    expect(first.every((at) => at instanceof Date)).toBe(true);
    await reconciliation.markOrphansSwept(ids);
    expect(await markedAt()).toEqual(first);
    // A run deleted meanwhile is nothing to mark.
    await expect(reconciliation.markOrphansSwept([randomUUID()])).resolves.toBeUndefined();
  });

  it('lists only runs that ended before the bound', async () => {
    const ids = await makeRuns(7, { sameInstant: 5, ended: true });
    const firstEnd = (await db.prisma.run.findUniqueOrThrow({ where: { id: ids[0]! } })).endedAt!;
    expect(await reconciliation.awaitingOrphanSweep(firstEnd, 10)).toEqual([]);
    expect((await reconciliation.awaitingOrphanSweep(new Date(firstEnd.getTime() + 1), 10)).map((r) => r.id)).toEqual(
      ids.slice(0, 5).sort(),
    );
  });
});
