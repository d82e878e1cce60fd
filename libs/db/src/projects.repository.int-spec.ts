import { randomUUID } from 'node:crypto';
import type { RunSpec } from '@trainyard/contracts';
import type { Database } from './open-database';
import { lockedProjectLoad, ProjectsRepository } from './projects.repository';
import { RunsRepository } from './runs.repository';
import { useMigratedDatabase } from './testing';

const spec = { kind: 'pretrain', name: 'ae', dataset: { source: 'mnist' } } as unknown as RunSpec;

/** ProjectsRepository's limits: a project's own PROJECT_MAX_RUNNING and the load it is checked against. */
describe('ProjectsRepository limits (PostgreSQL)', () => {
  let db: Database;
  let runs: RunsRepository;
  let projects: ProjectsRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
    projects = new ProjectsRepository(db.prisma);
  });

  const newRun = (project: string) =>
    runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'r', spec, baseRunId: null, project });

  it('counts only training and waiting runs of the project, and reads its own limit with them', async () => {
    const project = `load-${randomUUID().slice(0, 8)}`;
    expect(await projects.load(project)).toEqual({
      project,
      maxRunning: null,
      maxQueued: null,
      maxPriority: null,
      maxUploadBytes: null,
      running: 0,
      waiting: 0,
      checkpointBytes: 0,
    });
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map(() => newRun(project)));
    await newRun(`${project}-x`);
    await runs.markRunning(a!.id, 'wasm');
    await runs.finish(b!.id, 'SUCCEEDED');
    await runs.finish(c!.id, 'PREEMPTED');
    await projects.setLimits(project, { maxRunning: 3 });
    expect(await projects.load(project)).toEqual({
      project,
      maxRunning: 3,
      maxQueued: null,
      maxPriority: null,
      maxUploadBytes: null,
      running: 1,
      waiting: 2,
      checkpointBytes: 0,
    });
    expect(d).toBeDefined();
  });

  it('sets, replaces and removes a limit, and lists only projects that have one, by name, with their load', async () => {
    const [first, second] = [`b-${randomUUID().slice(0, 8)}`, `a-${randomUUID().slice(0, 8)}`];
    await projects.setLimits(first, { maxRunning: 5 });
    await projects.setLimits(first, { maxRunning: 2 });
    await projects.setLimits(second, { maxRunning: 7 });
    await runs.markRunning((await newRun(first)).id, 'wasm');
    await newRun(first);
    const listed = (await projects.listLimited()).filter((p) => p.project === first || p.project === second);
    expect(listed).toEqual([
      {
        project: second,
        maxRunning: 7,
        maxQueued: null,
        maxPriority: null,
        maxUploadBytes: null,
        running: 0,
        waiting: 0,
        checkpointBytes: 0,
      },
      {
        project: first,
        maxRunning: 2,
        maxQueued: null,
        maxPriority: null,
        maxUploadBytes: null,
        running: 1,
        waiting: 1,
        checkpointBytes: 0,
      },
    ]);
    await projects.setLimits(first, { maxRunning: null });
    // Removing a limit that is not there is harmless.
    await projects.setLimits(first, { maxRunning: null });
    expect((await projects.listLimited()).map((p) => p.project)).not.toContain(first);
    expect((await projects.load(first)).maxRunning).toBeNull();
  });

  it('changes one limit without the others, and removes the row once all are back to the default', async () => {
    const project = `both-${randomUUID().slice(0, 8)}`;
    await projects.setLimits(project, { maxQueued: 50 });
    expect(await projects.load(project)).toMatchObject({ maxRunning: null, maxQueued: 50 });
    await projects.setLimits(project, { maxRunning: 3 });
    expect(await projects.load(project)).toMatchObject({ maxRunning: 3, maxQueued: 50 });
    await projects.setLimits(project, { maxQueued: null });
    expect(await projects.load(project)).toMatchObject({ maxRunning: 3, maxQueued: null });
    await projects.setLimits(project, { maxPriority: 0 });
    await projects.setLimits(project, { maxRunning: null });
    expect(await projects.load(project)).toMatchObject({ maxRunning: null, maxQueued: null, maxPriority: 0 });
    expect(await db.prisma.projectLimit.count({ where: { project } })).toBe(1);
    await projects.setLimits(project, { maxPriority: null, maxUploadBytes: 2 ** 50 });
    // An upload quota past 2^31 (a BIGINT) reads back whole.
    expect(await projects.load(project)).toMatchObject({ maxPriority: null, maxUploadBytes: 2 ** 50 });
    expect(await db.prisma.projectLimit.count({ where: { project } })).toBe(1);
    await projects.setLimits(project, { maxUploadBytes: null });
    expect(await db.prisma.projectLimit.count({ where: { project } })).toBe(0);
    // Concurrent changes of one project both land.
    await Promise.all([projects.setLimits(project, { maxRunning: 2 }), projects.setLimits(project, { maxQueued: 9 })]);
    expect(await projects.load(project)).toMatchObject({ maxRunning: 2, maxQueued: 9 });
  });
});

/**
 * A project's submits wait for its submit lock one at a time per process, in memory: a burst of
 * one project's submits cannot take every pool connection, each blocked on the advisory lock,
 * and stall every other project's requests behind them.
 */
describe("a project's submit lock and the connection pool (PostgreSQL)", () => {
  let db: Database;
  let runs: RunsRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
  });

  const submit = (project: string) =>
    runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'r', spec, baseRunId: null, project }, () => undefined);

  it("lets other projects' submits and reads through while one project's burst waits for its lock", async () => {
    // A submit of `busy` that holds its lock (as a slow one would) until released.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    const holder = db.prisma.$transaction(
      async (tx) => {
        await lockedProjectLoad(tx, 'busy');
        locked();
        await released;
      },
      { timeout: 60_000 },
    );
    await holding;
    // Twice the pool's 10 connections of submits queue behind it.
    const burst = Array.from({ length: 20 }, () => submit('busy'));
    await new Promise((resolve) => setTimeout(resolve, 500));

    const started = Date.now();
    const other = await submit('quiet');
    expect(await runs.get(other.id)).toMatchObject({ project: 'quiet' });
    expect(Date.now() - started).toBeLessThan(2_000);

    release();
    await holder;
    const created = await Promise.all(burst);
    expect(new Set(created.map((run) => run.id)).size).toBe(20);
    expect(await db.prisma.run.count({ where: { project: 'busy' } })).toBe(20);
  }, 30_000);
});
