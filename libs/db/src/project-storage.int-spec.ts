import { randomUUID } from 'node:crypto';
import type { RunSpec } from '@trainyard/contracts';
import type { Database } from './open-database';
import { ProjectsRepository } from './projects.repository';
import { RunHousekeepingRepository } from './run-housekeeping.repository';
import { RunsRepository } from './runs.repository';
import { useMigratedDatabase } from './testing';

const spec = { kind: 'pretrain', name: 'ae', dataset: { source: 'mnist' } } as unknown as RunSpec;

/**
 * project_storage: what each project's checkpoints hold, kept by the triggers of migration
 * 20261208050000 as checkpoints are written, marked DELETED or CORRUPT, and deleted with their run.
 */
describe("a project's checkpoint bytes (PostgreSQL triggers)", () => {
  let db: Database;
  let runs: RunsRepository;
  let projects: ProjectsRepository;
  let housekeeping: RunHousekeepingRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
    projects = new ProjectsRepository(db.prisma);
    housekeeping = new RunHousekeepingRepository(db.prisma);
  });

  const newRun = async (project: string) =>
    (await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'r', spec, baseRunId: null, project })).id;
  let sequence = 0;
  const checkpoint = (runId: string, bytes: number, status: 'WRITING' | 'COMPLETE' = 'COMPLETE') =>
    db.prisma.checkpoint.create({
      data: {
        runId,
        sequence: ++sequence,
        epoch: 1,
        step: sequence,
        uri: `s3://bucket/runs/${runId}/checkpoints/${sequence}/`,
        bytes: BigInt(bytes),
        sha256: 'a'.repeat(64),
        status,
        models: ['autoencoder'],
      },
    });
  const held = async (project: string) => (await projects.load(project)).checkpointBytes;

  it('counts a checkpoint from its writing, changes with its size and status, and stops at DELETED', async () => {
    const [a, b] = [`sa-${randomUUID().slice(0, 8)}`, `sb-${randomUUID().slice(0, 8)}`];
    const run = await newRun(a);
    const other = await newRun(b);
    const writing = await checkpoint(run, 0, 'WRITING');
    expect(await held(a)).toBe(0);
    await db.prisma.checkpoint.update({ where: { id: writing.id }, data: { status: 'COMPLETE', bytes: 3_000n } });
    const second = await checkpoint(run, 5_000_000_000);
    await checkpoint(other, 700);
    expect(await held(a)).toBe(5_000_003_000);
    expect(await held(b)).toBe(700);

    // CORRUPT files are still in the store; DELETED ones are not.
    await db.prisma.checkpoint.update({ where: { id: writing.id }, data: { status: 'CORRUPT' } });
    expect(await held(a)).toBe(5_000_003_000);
    await db.prisma.$executeRaw`UPDATE "checkpoints" SET "status" = 'DELETED' WHERE "id" = ${second.id}::uuid`;
    expect(await held(a)).toBe(3_000);
    // A status change that does not move the bytes, and a DELETED row deleted, change nothing.
    await db.prisma.checkpoint.update({ where: { id: second.id }, data: { models: ['encoder'] } });
    await db.prisma.checkpoint.delete({ where: { id: second.id } });
    expect(await held(a)).toBe(3_000);
    await db.prisma.checkpoint.delete({ where: { id: writing.id } });
    expect(await held(a)).toBe(0);
    expect(await held(b)).toBe(700);
    expect(await projects.checkpointBytesByProject()).toEqual(expect.arrayContaining([{ project: b, bytes: 700 }]));
    expect((await projects.checkpointBytesByProject()).map((r) => r.project)).not.toContain(a);
  });

  it("gives a deleted run's checkpoints back to its project, those its retention already deleted counted once", async () => {
    const project = `sd-${randomUUID().slice(0, 8)}`;
    const [kept, deleted] = [await newRun(project), await newRun(project)];
    await checkpoint(kept, 1_000);
    await checkpoint(deleted, 20_000);
    const retired = await checkpoint(deleted, 300);
    await db.prisma.$executeRaw`UPDATE "checkpoints" SET "status" = 'DELETED' WHERE "id" = ${retired.id}::uuid`;
    await checkpoint(deleted, 4_000, 'WRITING');
    expect(await held(project)).toBe(25_000);
    await runs.finish(deleted, 'SUCCEEDED');
    // The way DELETE /v1/runs/:id deletes: the run's row, its checkpoints by cascade.
    expect((await housekeeping.delete(deleted)).outcome).toBe('deleted');
    expect(await db.prisma.checkpoint.count({ where: { runId: deleted } })).toBe(0);
    expect(await held(project)).toBe(1_000);
  });

  it('keeps the count exact under checkpoints of one project written at once', async () => {
    const project = `sc-${randomUUID().slice(0, 8)}`;
    const ids = await Promise.all([1, 2, 3, 4].map(() => newRun(project)));
    await Promise.all(ids.flatMap((id) => [checkpoint(id, 1_000), checkpoint(id, 24)]));
    expect(await held(project)).toBe(4 * 1_024);
  });
});
