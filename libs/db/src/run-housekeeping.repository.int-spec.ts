import { randomUUID } from 'node:crypto';
import { useMigratedDatabase } from './testing';
import type { Database } from './open-database';
import { RunHousekeepingRepository } from './run-housekeeping.repository';

// Deleting a run with many metric points: its points go a batch a statement inside the one
// transaction, and that transaction may outlast Prisma's default 5 s (a run of 4 M points once
// failed as a whole that way). A statement trigger that sleeps 2 s on every DELETE of
// metric points stands in for a large run: three batches take over 6 s.
let db: Database;
useMigratedDatabase((opened) => {
  db = opened;
});

async function finishedRunWithPoints(points: number): Promise<string> {
  const id = randomUUID();
  await db.prisma.$executeRaw`
    INSERT INTO "runs" ("id", "kind", "status", "name", "spec", "created_at", "updated_at")
    VALUES (${id}::uuid, 'PRETRAIN', 'SUCCEEDED', 'many points', '{}'::jsonb, now(), now())`;
  await db.prisma.$executeRaw`
    INSERT INTO "metric_points" ("run_id", "name", "step", "epoch", "value", "wall_time")
    SELECT ${id}::uuid, 'loss', g, 0, random(), now() FROM generate_series(1, ${points}::int) g`;
  return id;
}

const pointsOf = async (id: string) =>
  (
    await db.prisma.$queryRaw<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM "metric_points" WHERE "run_id" = ${id}::uuid`
  )[0]!.n;

const rollupCounts = async (id: string) =>
  (
    await db.prisma.$queryRaw<
      { count: number }[]
    >`SELECT "count" FROM "metric_rollups" WHERE "run_id" = ${id}::uuid ORDER BY "block"`
  ).map((r) => r.count);

test('deletes every point in batches, in one transaction that may outlast 5 s', async () => {
  const id = await finishedRunWithPoints(250);
  const other = await finishedRunWithPoints(3);
  await db.prisma.$executeRawUnsafe(`
    CREATE FUNCTION slow_metric_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$`);
  await db.prisma.$executeRawUnsafe(`
    CREATE TRIGGER slow_metric_delete BEFORE DELETE ON "metric_points"
    FOR EACH STATEMENT EXECUTE FUNCTION slow_metric_delete()`);
  // Counts the rollup rows the rollup trigger writes back: a batch that leaves points in a block
  // would have the block rewritten, work the run's deletion throws away.
  await db.prisma.$executeRawUnsafe(`CREATE TABLE rollups_rewritten (n int)`);
  await db.prisma.$executeRawUnsafe(`
    CREATE FUNCTION count_rollup_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO rollups_rewritten VALUES (1); RETURN NULL; END $$`);
  await db.prisma.$executeRawUnsafe(`
    CREATE TRIGGER count_rollup_rewrite AFTER INSERT ON "metric_rollups"
    FOR EACH ROW EXECUTE FUNCTION count_rollup_rewrite()`);
  try {
    const started = Date.now();
    const outcome = await new RunHousekeepingRepository(db.prisma, 100).delete(id);
    expect(outcome).toMatchObject({ outcome: 'deleted', metricPoints: 250 });
    // Batches of 100, 100, 50 (then the trigger's statement with the run): 4 sleeps of 2 s.
    expect(Date.now() - started).toBeGreaterThan(6000);
    expect(await db.prisma.$queryRawUnsafe(`SELECT count(*)::int AS n FROM rollups_rewritten`)).toEqual([{ n: 0 }]);
  } finally {
    await db.prisma.$executeRawUnsafe(`DROP TRIGGER slow_metric_delete ON "metric_points"`);
    await db.prisma.$executeRawUnsafe(`DROP FUNCTION slow_metric_delete()`);
    await db.prisma.$executeRawUnsafe(`DROP TRIGGER count_rollup_rewrite ON "metric_rollups"`);
    await db.prisma.$executeRawUnsafe(`DROP FUNCTION count_rollup_rewrite()`);
    await db.prisma.$executeRawUnsafe(`DROP TABLE rollups_rewritten`);
  }
  expect(await pointsOf(id)).toBe(0);
  expect(await db.prisma.run.findUnique({ where: { id } })).toBeNull();
  expect(await pointsOf(other)).toBe(3);
  // Its rollups went with it (the trigger stood aside for the deletion's transaction only): the
  // other run's are whole, and a later DELETE of one of its points still refreshes them.
  expect(await rollupCounts(id)).toEqual([]);
  expect(await rollupCounts(other)).toEqual([3]);
  await db.prisma.$executeRaw`DELETE FROM "metric_points" WHERE "run_id" = ${other}::uuid AND "step" = 1`;
  expect(await rollupCounts(other)).toEqual([2]);
}, 30_000);

test('a blocked run keeps every point', async () => {
  const id = await finishedRunWithPoints(120);
  await db.prisma.$executeRaw`UPDATE "runs" SET "status" = 'RUNNING' WHERE "id" = ${id}::uuid`;
  const outcome = await new RunHousekeepingRepository(db.prisma, 50).delete(id);
  expect(outcome).toMatchObject({ outcome: 'blocked', blockers: [{ reason: 'active' }] });
  expect(await pointsOf(id)).toBe(120);
});

test('removes the objects under the lock: a model version registered meanwhile waits, then finds the run gone', async () => {
  const id = await finishedRunWithPoints(3);
  const checkpointId = await completeCheckpoint(id);
  const register = () =>
    db.prisma.modelVersion.create({
      data: { id: randomUUID(), name: 'digits', version: 1, runId: id, checkpointId },
    });
  let registered: Promise<unknown> | undefined;
  let settled = false;
  // Read as the removal ends, before the deletion commits: after it, the waiting registration
  // fails at once, and may be seen settled before this test's next line runs.
  let settledDuringRemoval: boolean | undefined;
  const outcome = await new RunHousekeepingRepository(db.prisma).delete(id, async () => {
    // The objects go now, the run's rows locked: a registration cannot pin the checkpoint.
    registered = register();
    registered.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    settledDuringRemoval = settled;
  });
  expect(settledDuringRemoval).toBe(false);
  expect(outcome).toMatchObject({ outcome: 'deleted', checkpoints: { count: 1 } });
  await expect(registered).rejects.toMatchObject({ code: 'P2003' });
  expect(await db.prisma.modelVersion.count({ where: { runId: id } })).toBe(0);
});

test('keeps the objects of a run pinned since its first check, and its rows when removing them fails', async () => {
  const id = await finishedRunWithPoints(3);
  const checkpointId = await completeCheckpoint(id);
  const housekeeping = new RunHousekeepingRepository(db.prisma);
  expect(await housekeeping.deletionPlan(id)).toMatchObject({ outcome: 'deletable' });
  // Pinned between the answer's check and the deletion: the objects are never touched.
  await db.prisma.modelVersion.create({
    data: { id: randomUUID(), name: 'pinned', version: 1, runId: id, checkpointId },
  });
  let removed = false;
  expect(
    await housekeeping.delete(id, async () => {
      removed = true;
    }),
  ).toMatchObject({ outcome: 'blocked', blockers: [expect.objectContaining({ reason: 'registered-model' })] });
  expect(removed).toBe(false);

  await db.prisma.modelVersion.deleteMany({ where: { runId: id } });
  await expect(
    housekeeping.delete(id, async () => {
      throw new Error('the object store is down');
    }),
  ).rejects.toThrow('the object store is down');
  expect(await db.prisma.run.findUnique({ where: { id } })).not.toBeNull();
  expect(await pointsOf(id)).toBe(3);
});

/** A COMPLETE checkpoint of the run, as a worker records one; its id. */
async function completeCheckpoint(runId: string): Promise<string> {
  const id = randomUUID();
  await db.prisma.$executeRaw`
    INSERT INTO "checkpoints" ("id", "run_id", "sequence", "epoch", "step", "uri", "models", "status", "bytes", "sha256")
    VALUES (${id}::uuid, ${runId}::uuid, 1, 1, 3, 'file:///x/', ARRAY['classifier'], 'COMPLETE', 9, ${'f'.repeat(64)})`;
  return id;
}
