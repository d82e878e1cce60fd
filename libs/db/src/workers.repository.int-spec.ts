import { randomUUID } from 'node:crypto';
import type { RunSpec, WorkerState } from '@trainyard/contracts';
import { AttemptsRepository } from './attempts.repository';
import { openDatabase, type Database } from './open-database';
import { ReconciliationRepository } from './reconciliation.repository';
import { RunsRepository } from './runs.repository';
import { createFreshDatabase, type FreshDatabase } from './testing';
import { WorkersRepository } from './workers.repository';

const LOST_AFTER_MS = 60_000;
const spec = { kind: 'pretrain', name: 'ae', dataset: { name: 'mnist' } } as unknown as RunSpec;

/**
 * Every reader of a worker's state uses workerState or its SQL form, liveWorker: the fleet
 * (fleet(), GET /v1/workers), the Prometheus gauge (countByState), the submit-time check that a
 * worker could serve a run (servability) and the reconciler's "is the run's owner alive"
 * (listUnfinished). A worker in every state, and at the edges between them.
 */
describe('WorkersRepository: one rule for a worker state (PostgreSQL)', () => {
  let fresh: FreshDatabase;
  let db: Database;
  let workers: WorkersRepository;

  beforeAll(async () => {
    fresh = await createFreshDatabase();
    db = await openDatabase({ url: fresh.url, embeddedPath: '' });
    workers = new WorkersRepository(db.prisma);
  });
  afterAll(async () => {
    await db?.close();
    await fresh?.drop();
  });

  async function worker(id: string, silentForMs = 0): Promise<string> {
    await workers.register({ id, hostname: 'h', pid: 1, backend: 'cpu', gpu: null, concurrency: 1 });
    if (silentForMs)
      await db.prisma.worker.update({ where: { id }, data: { lastHeartbeatAt: new Date(Date.now() - silentForMs) } });
    return id;
  }

  it('counts for Prometheus exactly the states the fleet shows', async () => {
    await worker('alive');
    await worker('alive-quiet', LOST_AFTER_MS - 5_000);
    await workers.requestDrain(await worker('draining'), 'finish');
    const drained = await worker('drained');
    await workers.requestDrain(drained, 'preempt');
    await workers.markDrained(drained);
    await worker('lost', LOST_AFTER_MS + 5_000);
    await workers.requestDrain(await worker('lost-while-draining', LOST_AFTER_MS + 5_000), 'finish');
    await workers.stop(await worker('stopped'));
    await workers.stop(await worker('stopped-long-ago', 10 * LOST_AFTER_MS));

    const fleet = await workers.fleet(LOST_AFTER_MS);
    expect(Object.fromEntries(fleet.map((w) => [w.id, w.state]))).toEqual({
      alive: 'alive',
      'alive-quiet': 'alive',
      draining: 'draining',
      drained: 'drained',
      lost: 'lost',
      'lost-while-draining': 'lost',
      stopped: 'stopped',
      'stopped-long-ago': 'stopped',
    });
    const shown: Record<WorkerState, number> = { alive: 0, draining: 0, drained: 0, lost: 0, stopped: 0 };
    for (const { state } of fleet) shown[state] += 1;
    expect(await workers.countByState(LOST_AFTER_MS)).toEqual(shown);

    const live = shown.alive + shown.draining + shown.drained;
    expect(await workers.servability({}, LOST_AFTER_MS)).toEqual({ live, serving: live });

    // Each worker owns a run's current attempt: the reconciler sees its owner alive exactly when the fleet does.
    const runs = new RunsRepository(db.prisma);
    const attempts = new AttemptsRepository(db.prisma);
    const ownerOf = new Map<string, string>();
    for (const { id: workerId } of fleet) {
      const run = await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: workerId, spec, baseRunId: null });
      await attempts.openCurrent(run.id, workerId);
      ownerOf.set(run.id, workerId);
    }
    const unfinished = await new ReconciliationRepository(db.prisma).listUnfinished(
      new Date(Date.now() + 60_000),
      new Date(Date.now() - LOST_AFTER_MS),
    );
    const seenAlive = Object.fromEntries(
      unfinished.filter((run) => ownerOf.has(run.id)).map((run) => [ownerOf.get(run.id)!, run.ownerAlive]),
    );
    expect(seenAlive).toEqual(
      Object.fromEntries(fleet.map((w) => [w.id, w.state !== 'lost' && w.state !== 'stopped'])),
    );
  });
});
