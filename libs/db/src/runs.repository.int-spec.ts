import { randomUUID } from 'node:crypto';
import { RunDetailViewSchema, RunViewSchema, type RunSpec, type WorkerState } from '@trainyard/contracts';
import { AttemptsRepository } from './attempts.repository';
import { CheckpointsRepository } from './checkpoints.repository';
import { RunNotFoundError, RunStateError } from './errors';
import { MetricsRepository } from './metrics.repository';
import type { Database } from './open-database';
import { ReconciliationRepository } from './reconciliation.repository';
import { RunsRepository } from './runs.repository';
import { useMigratedDatabase } from './testing';
import { WorkersRepository } from './workers.repository';

const spec = { kind: 'pretrain', name: 'ae', dataset: { source: 'mnist' } } as unknown as RunSpec;

describe('RunsRepository, AttemptsRepository, CheckpointsRepository, WorkersRepository', () => {
  let db: Database;
  let runs: RunsRepository;
  let attempts: AttemptsRepository;
  let checkpoints: CheckpointsRepository;
  let workers: WorkersRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
    attempts = new AttemptsRepository(db.prisma);
    checkpoints = new CheckpointsRepository(db.prisma);
    workers = new WorkersRepository(db.prisma);
  });

  const newRun = (baseRunId: string | null = null) =>
    runs.create({ id: randomUUID(), kind: baseRunId ? 'FINETUNE' : 'PRETRAIN', name: 'r', spec, baseRunId });

  it('creates a QUEUED run with its spec and base run', async () => {
    const base = await newRun();
    const run = await newRun(base.id);
    expect(run).toMatchObject({ status: 'QUEUED', kind: 'FINETUNE', baseRunId: base.id, cancelRequested: false, spec });
    expect(await runs.get(run.id)).toEqual(run);
    expect(await runs.get(randomUUID())).toBeNull();
  });

  it('walks a run through attempts, progress, checkpoints and success', async () => {
    const run = await newRun();
    await workers.register({ id: 'w-1', hostname: 'gpu-1', pid: 42, backend: 'cpu', gpu: null, concurrency: 2 });
    const first = await attempts.open(run.id, 'w-1', 'cpu');
    await runs.markRunning(run.id, 'cpu');
    const startedAt = (await runs.get(run.id))?.startedAt;
    expect(startedAt).toBeInstanceOf(Date);

    await runs.updateProgress(run.id, {
      phase: 'training',
      epoch: 1,
      epochs: 3,
      step: 10,
      stepsPerEpoch: 10,
      loss: 0.5,
      updatedAt: new Date().toISOString(),
    });
    expect((await runs.get(run.id))?.progress).toMatchObject({ phase: 'training', step: 10 });

    expect(await checkpoints.resumePoint(run.id)).toEqual({ candidates: [], nextSequence: 1 });
    const writing = await checkpoints.begin({
      runId: run.id,
      attemptId: first.id,
      sequence: 1,
      epoch: 1,
      step: 10,
      uri: 's3://b/runs/x/checkpoints/1/',
      models: ['autoencoder', 'encoder'],
    });
    expect(writing).toMatchObject({ status: 'WRITING', bytes: 0, models: ['autoencoder', 'encoder'] });
    expect(await checkpoints.latestComplete(run.id)).toBeNull();
    const done = await checkpoints.complete(writing.id, 5_000_000_000, 'a'.repeat(64));
    expect(done).toMatchObject({ status: 'COMPLETE', bytes: 5_000_000_000, sha256: 'a'.repeat(64) });
    expect(typeof done.bytes).toBe('number');

    // The worker crashes; a second attempt resumes and keeps the first start time.
    await attempts.close(first.id, 'CRASHED', 'lost heartbeat');
    await runs.finish(run.id, 'PREEMPTED');
    const second = await attempts.open(run.id, null, null);
    await attempts.setBackend(second.id, 'wasm');
    expect([first.number, second.number]).toEqual([1, 2]);
    await runs.markRunning(run.id, 'wasm');
    expect((await runs.get(run.id))?.startedAt).toEqual(startedAt);

    const broken = await checkpoints.begin({
      runId: run.id,
      attemptId: second.id,
      sequence: 2,
      epoch: 2,
      step: 20,
      uri: 'u2',
      models: [],
    });
    await checkpoints.markCorrupt(broken.id);
    // The CORRUPT one is never resumed from, and its number never reused.
    expect(await checkpoints.resumePoint(run.id)).toEqual({
      candidates: [{ sequence: 1, uri: 's3://b/runs/x/checkpoints/1/' }],
      nextSequence: 3,
    });
    expect((await checkpoints.latestComplete(run.id))?.id).toBe(done.id);
    expect((await checkpoints.listByRun(run.id)).map((c) => c.status)).toEqual(['COMPLETE', 'CORRUPT']);

    await attempts.close(second.id, 'SUCCEEDED');
    const result = { split: 'test' as const, samples: 10, mse: 0.01 };
    await runs.finish(run.id, 'SUCCEEDED', { result });
    await runs.finish(run.id, 'SUCCEEDED'); // a job that runs twice finishes twice

    const detail = await runs.getDetail(run.id);
    expect(detail).toMatchObject({ status: 'SUCCEEDED', backend: 'wasm', result, summaries: [] });
    // The view is the wire format: an ISO date, and nothing the contract does not name.
    expect(RunDetailViewSchema.parse(detail).endedAt).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/));
    expect(detail?.attempts.map((a) => [a.number, a.outcome, a.error, a.backend])).toEqual([
      [1, 'CRASHED', 'lost heartbeat', 'cpu'],
      [2, 'SUCCEEDED', null, 'wasm'],
    ]);
    expect(detail?.attempts[0]?.endedAt).toEqual(expect.any(String));
    expect(detail?.checkpoints.map((c) => c.sequence)).toEqual([1]);
    expect(await runs.getDetail(randomUUID())).toBeNull();

    await expect(runs.markRunning(run.id, 'cpu')).rejects.toThrow(RunStateError);
    await expect(runs.finish(run.id, 'FAILED')).rejects.toThrow(
      `Run ${run.id} is SUCCEEDED: cannot finish it as FAILED`,
    );
  });

  it('numbers concurrent attempts without collisions', async () => {
    const run = await newRun();
    const opened = await Promise.all([1, 2, 3, 4].map(() => attempts.open(run.id, null, null)));
    expect(opened.map((a) => a.number).sort()).toEqual([1, 2, 3, 4]);
    expect((await attempts.listByRun(run.id)).map((a) => a.number)).toEqual([1, 2, 3, 4]);
  });

  it('cancels queued runs at once, flags running ones, leaves terminal ones', async () => {
    const queued = await newRun();
    const cancelled = await runs.requestCancel(queued.id);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', cancelRequested: false });
    expect(RunViewSchema.parse(cancelled).endedAt).toEqual(expect.any(String));
    expect(await runs.isCancelRequested(queued.id)).toBe(true);
    await expect(runs.markRunning(queued.id, 'cpu')).rejects.toThrow(
      `Run ${queued.id} is CANCELLED: cannot mark it RUNNING`,
    );

    const running = await newRun();
    await runs.markRunning(running.id, 'cpu');
    expect(await runs.isCancelRequested(running.id)).toBe(false);
    expect(await runs.requestCancel(running.id)).toMatchObject({ status: 'RUNNING', cancelRequested: true });
    expect(await runs.isCancelRequested(running.id)).toBe(true);
    await runs.finish(running.id, 'CANCELLED');

    const failed = await newRun();
    await runs.finish(failed.id, 'FAILED', { failureReason: 'dataset missing' });
    expect(await runs.requestCancel(failed.id)).toMatchObject({
      status: 'FAILED',
      failureReason: 'dataset missing',
      cancelRequested: false,
    });

    expect(await runs.requestCancel(randomUUID())).toBeNull();
    expect(await runs.isCancelRequested(randomUUID())).toBe(false);
  });

  it('ends a cancelled run taken over from a lost worker: its RUNNING attempt CRASHED, the attempt fence cleared', async () => {
    const run = await newRun();
    const lost = await attempts.openCurrent(run.id, null);
    expect(await runs.requestCancel(run.id)).toMatchObject({ status: 'RUNNING', cancelRequested: true });
    expect(await runs.finishCancelled(run.id)).toBe(true);
    const [row] = await db.prisma.$queryRaw<{ status: string; current: string | null; ended: Date | null }[]>`
      SELECT "status"::text AS status, "current_attempt_id"::text AS current, "ended_at" AS ended
      FROM "runs" WHERE "id" = ${run.id}::uuid`;
    expect(row).toEqual({ status: 'CANCELLED', current: null, ended: expect.any(Date) });
    expect(await attempts.listByRun(run.id)).toEqual([
      expect.objectContaining({
        id: lost.attempt.id,
        outcome: 'CRASHED',
        endedAt: expect.anything(),
        error: 'worker ? stopped or lost the job before it stopped for the cancel',
      }),
    ]);
    // An ended run is left as it is.
    expect(await runs.finishCancelled(run.id)).toBe(false);
    const done = await newRun();
    await runs.finish(done.id, 'SUCCEEDED');
    expect(await runs.finishCancelled(done.id)).toBe(false);
    expect((await runs.get(done.id))?.status).toBe('SUCCEEDED');
  });

  it('fails the queued runs of a batch in one statement, and leaves those a worker started or that ended', async () => {
    const [queued, alsoQueued, running, cancelled] = await Promise.all([newRun(), newRun(), newRun(), newRun()]);
    await runs.markRunning(running.id, 'cpu');
    await runs.requestCancel(cancelled.id);
    const ids = [queued, alsoQueued, running, cancelled].map((r) => r.id);
    expect(await runs.failQueued([...ids, randomUUID()], 'Could not enqueue the run: down')).toBe(2);
    const after = await Promise.all(ids.map((id) => runs.get(id)));
    expect(after.map((r) => [r!.status, r!.failureReason, r!.endedAt !== null])).toEqual([
      ['FAILED', 'Could not enqueue the run: down', true],
      ['FAILED', 'Could not enqueue the run: down', true],
      ['RUNNING', null, false],
      ['CANCELLED', null, true],
    ]);
  });

  it('names the run it cannot find', async () => {
    const id = randomUUID();
    await expect(runs.markRunning(id, 'cpu')).rejects.toThrow(new RunNotFoundError(id).message);
    await expect(runs.finish(id, 'FAILED')).rejects.toThrow(RunNotFoundError);
    await expect(
      runs.updateProgress(id, { phase: 'loading', epoch: 0, epochs: 1, step: 0, stepsPerEpoch: 1, updatedAt: '' }),
    ).resolves.toBeUndefined();
  });

  it('re-registers, beats and stops workers', async () => {
    await workers.register({ id: 'w-2', hostname: 'a', pid: 1, backend: null, gpu: 'A100', concurrency: 1 });
    await workers.stop('w-2');
    await workers.register({
      id: 'w-2',
      hostname: 'b',
      pid: 2,
      backend: 'tensorflow-gpu',
      gpu: 'A100',
      gpuCount: 4,
      gpuMemoryMb: 81920,
      concurrency: 4,
    });
    const before = await db.prisma.worker.findUniqueOrThrow({ where: { id: 'w-2' } });
    expect(before).toMatchObject({
      hostname: 'b',
      pid: 2,
      gpuCount: 4,
      gpuMemoryMb: 81920,
      concurrency: 4,
      stoppedAt: null,
    });
    // And served in the fleet's view.
    expect(await workers.get('w-2', 60_000)).toMatchObject({ gpuCount: 4, gpuMemoryMb: 81920, concurrency: 4 });
    await new Promise((r) => setTimeout(r, 5));
    await workers.heartbeat('w-2');
    const after = await db.prisma.worker.findUniqueOrThrow({ where: { id: 'w-2' } });
    expect(after.lastHeartbeatAt.getTime()).toBeGreaterThan(before.lastHeartbeatAt.getTime());
    await workers.stop('w-2');
    expect((await db.prisma.worker.findUniqueOrThrow({ where: { id: 'w-2' } })).stoppedAt).toBeInstanceOf(Date);
  });

  it('keeps metric points of a deleted attempt and drops everything with the run', async () => {
    const run = await newRun();
    const attempt = await attempts.open(run.id, null, null);
    await new MetricsRepository(db.prisma).write(run.id, attempt.id, [
      { name: 'loss', step: 1, epoch: 0, value: 1, wallTime: new Date() },
    ]);
    await db.prisma.attempt.delete({ where: { id: attempt.id } });
    expect((await new MetricsRepository(db.prisma).series(run.id))[0]?.attemptId).toBeNull();
    await db.prisma.run.delete({ where: { id: run.id } });
    expect(await db.prisma.metricSummary.count({ where: { runId: run.id } })).toBe(0);
  });

  /**
   * Every reader of a worker's state uses workerState or its SQL form, liveWorker: the fleet
   * (fleet(), GET /v1/workers), the Prometheus gauge (countByState), the submit-time check that a
   * worker could serve a run (servability) and the reconciler's "is the run's owner alive"
   * (listUnfinished). A worker in every state, and at the edges between them.
   */
  it('tells a worker state by one rule in the fleet, the gauge, servability and the reconciler', async () => {
    const lostAfterMs = 60_000;
    const worker = async (id: string, silentForMs = 0): Promise<string> => {
      await workers.register({ id, hostname: 'h', pid: 1, backend: 'cpu', gpu: null, concurrency: 1 });
      const lastHeartbeatAt = new Date(Date.now() - silentForMs);
      if (silentForMs) await db.prisma.worker.update({ where: { id }, data: { lastHeartbeatAt } });
      return id;
    };
    await worker('state-alive');
    await worker('state-alive-quiet', lostAfterMs - 5_000);
    await workers.requestDrain(await worker('state-draining'), 'finish');
    const drained = await worker('state-drained');
    await workers.requestDrain(drained, 'preempt');
    await workers.markDrained(drained);
    await worker('state-lost', lostAfterMs + 5_000);
    await workers.requestDrain(await worker('state-lost-while-draining', lostAfterMs + 5_000), 'finish');
    await workers.stop(await worker('state-stopped'));
    await workers.stop(await worker('state-stopped-long-ago', 10 * lostAfterMs));

    const fleet = await workers.fleet(lostAfterMs);
    const mine = fleet.filter((w) => w.id.startsWith('state-'));
    expect(Object.fromEntries(mine.map((w) => [w.id, w.state]))).toEqual({
      'state-alive': 'alive',
      'state-alive-quiet': 'alive',
      'state-draining': 'draining',
      'state-drained': 'drained',
      'state-lost': 'lost',
      'state-lost-while-draining': 'lost',
      'state-stopped': 'stopped',
      'state-stopped-long-ago': 'stopped',
    });
    const shown: Record<WorkerState, number> = { alive: 0, draining: 0, drained: 0, lost: 0, stopped: 0 };
    for (const { state } of fleet) shown[state] += 1;
    expect(await workers.countByState(lostAfterMs)).toEqual(shown);

    const live = shown.alive + shown.draining + shown.drained;
    expect(await workers.servability({}, lostAfterMs)).toEqual({
      live,
      serving: live,
      draining: shown.draining + shown.drained,
    });

    // Each worker owns a run's current attempt: the reconciler sees its owner alive exactly when the fleet does.
    const ownerOf = new Map<string, string>();
    for (const { id: workerId } of mine) {
      const run = await newRun();
      await attempts.openCurrent(run.id, workerId);
      ownerOf.set(run.id, workerId);
    }
    const unfinished = await new ReconciliationRepository(db.prisma).listUnfinished(
      new Date(Date.now() + 60_000),
      new Date(Date.now() - lostAfterMs),
    );
    const seenAlive = Object.fromEntries(
      unfinished.filter((run) => ownerOf.has(run.id)).map((run) => [ownerOf.get(run.id)!, run.ownerAlive]),
    );
    expect(seenAlive).toEqual(Object.fromEntries(mine.map((w) => [w.id, w.state !== 'lost' && w.state !== 'stopped'])));
  });
});
