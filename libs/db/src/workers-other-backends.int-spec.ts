import type { Database } from './open-database';
import { useMigratedDatabase } from './testing';
import { WorkersRepository } from './workers.repository';

/** Where a wasm worker gives back a run its backend cannot hold: only to a worker that would take it. */
describe('WorkersRepository.takersOnOtherBackends and onlyBackendServes (PostgreSQL)', () => {
  let db: Database;
  let workers: WorkersRepository;
  useMigratedDatabase(async (opened) => {
    db = opened;
    workers = new WorkersRepository(db.prisma);
  });

  const lostAfterMs = 60_000;
  const worker = (id: string, backend: string | null, resourceClasses: ('cpu' | 'gpu' | 'any')[], memoryMb = 8192) =>
    workers.register({ id, hostname: 'h', pid: 1, backend, gpu: null, concurrency: 1, resourceClasses, memoryMb });

  it('lists live workers taking jobs, on a known other backend, that serve the class with the memory; nothing else', async () => {
    await worker('self', 'wasm', ['cpu', 'any']);
    await worker('wasm-peer', 'wasm', ['cpu', 'any']);
    await worker('unknown-backend', null, ['cpu', 'any']);
    await worker('tf-gpu-only', 'tensorflow', ['gpu']);
    await worker('tf-small', 'tensorflow', ['cpu', 'any'], 1024);
    await worker('tf-draining', 'tensorflow', ['cpu', 'any']);
    await workers.requestDrain('tf-draining', 'finish');
    await worker('tf-stopped', 'tensorflow', ['cpu', 'any']);
    await workers.stop('tf-stopped');
    await worker('tf-lost', 'tensorflow', ['cpu', 'any']);
    await db.prisma.worker.update({
      where: { id: 'tf-lost' },
      data: { lastHeartbeatAt: new Date(Date.now() - 2 * lostAfterMs) },
    });
    const takers = (placement: Parameters<WorkersRepository['takersOnOtherBackends']>[0]) =>
      workers.takersOnOtherBackends(placement, 'wasm', lostAfterMs, 'self');

    expect(await takers({ resources: { accelerator: 'cpu', memoryGb: 4.7 } })).toEqual([]);
    await worker('tf-cpu', 'tensorflow', ['cpu', 'any']);
    await worker('cpu-backend', 'cpu', ['any']);
    expect(await takers({ resources: { accelerator: 'cpu', memoryGb: 4.7 } })).toEqual([
      { id: 'tf-cpu', backend: 'tensorflow' },
    ]);
    expect((await takers({ resources: { memoryGb: 4.7 } })).map((w) => w.id).sort()).toEqual(['cpu-backend', 'tf-cpu']);
    expect((await takers({ resources: { accelerator: 'gpu' } })).map((w) => w.id)).toEqual(['tf-gpu-only']);
  });
  it('says only wasm serves a class while every live worker of it, draining ones included, trains on wasm', async () => {
    const only = (resourceClass: 'cpu' | 'gpu' | 'any') =>
      workers.onlyBackendServes(resourceClass, 'wasm', lostAfterMs);
    await db.prisma.worker.deleteMany();
    expect(await only('cpu')).toBe(false); // no worker at all
    await worker('w1', 'wasm', ['cpu', 'any']);
    await worker('tf-gpu', 'tensorflow', ['gpu']);
    await worker('tf-stopped', 'tensorflow', ['cpu', 'any']);
    await workers.stop('tf-stopped');
    expect([await only('cpu'), await only('any'), await only('gpu')]).toEqual([true, true, false]);
    // A draining worker of another backend still counts, and so does one of no recorded backend.
    await worker('tf-draining', 'tensorflow', ['cpu']);
    await workers.requestDrain('tf-draining', 'finish');
    expect([await only('cpu'), await only('any')]).toEqual([false, true]);
    await worker('unknown', null, ['any']);
    expect(await only('any')).toBe(false);
  });
});
