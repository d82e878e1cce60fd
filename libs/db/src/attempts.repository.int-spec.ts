import { randomUUID } from 'node:crypto';
import type { RunSpec } from '@trainyard/contracts';
import { AttemptWritesRepository } from './attempt-writes.repository';
import { AttemptsRepository, STORE_OUTAGE_ERROR, storeWaitReason } from './attempts.repository';
import { ProjectAtCapacityError, RunNotFoundError, RunStateError } from './errors';
import type { Database } from './open-database';
import { ProjectsRepository } from './projects.repository';
import { RunsRepository } from './runs.repository';
import { useMigratedDatabase } from './testing';
import { WorkersRepository } from './workers.repository';

const spec = { kind: 'pretrain', name: 'ae', dataset: { source: 'mnist' } } as unknown as RunSpec;

/** AttemptsRepository.openCurrent: one call of the SQL function open_current_attempt. */
describe('AttemptsRepository.openCurrent', () => {
  let db: Database;
  let runs: RunsRepository;
  let attempts: AttemptsRepository;
  let projects: ProjectsRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
    attempts = new AttemptsRepository(db.prisma);
    projects = new ProjectsRepository(db.prisma);
    const workers = new WorkersRepository(db.prisma);
    for (const id of ['w-a', 'w-b'])
      await workers.register({ id, hostname: id, pid: 1, backend: 'wasm', gpu: null, concurrency: 1 });
  });

  const newRun = (project = 'default') =>
    runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'r', spec, baseRunId: null, project });

  it('opens attempt 1 and makes it the current attempt of a RUNNING run; what it returns is what is stored', async () => {
    const run = await newRun();
    const opened = await attempts.openCurrent(run.id, 'w-a');
    expect(opened.crashed).toEqual([]);
    expect(opened.failures).toBe(0);
    expect(opened.attempt).toMatchObject({ runId: run.id, number: 1, workerId: 'w-a', outcome: 'RUNNING' });
    expect(await attempts.listByRun(run.id)).toEqual([opened.attempt]);
    const stored = await runs.get(run.id);
    expect(stored).toMatchObject({ status: 'RUNNING', currentAttemptId: opened.attempt.id });
    expect(stored!.startedAt).toBeInstanceOf(Date);
  });

  it('closes the attempts left RUNNING as CRASHED, naming their worker, and counts them as failures', async () => {
    const run = await newRun();
    const first = await attempts.openCurrent(run.id, 'w-a');
    const startedAt = (await runs.get(run.id))!.startedAt;
    const second = await attempts.openCurrent(run.id, 'w-b');
    expect(second.attempt).toMatchObject({ number: 2, workerId: 'w-b', outcome: 'RUNNING' });
    expect(second.crashed).toEqual([
      expect.objectContaining({
        id: first.attempt.id,
        outcome: 'CRASHED',
        error: 'worker w-a stopped or lost the job without closing the attempt',
      }),
    ]);
    expect(second.crashed[0]!.endedAt).toBeInstanceOf(Date);
    expect(second.failures).toBe(1);
    expect(await attempts.listByRun(run.id)).toEqual([second.crashed[0], second.attempt]);
    // Taken over: still RUNNING, the new attempt current, the first start kept.
    expect(await runs.get(run.id)).toMatchObject({ status: 'RUNNING', currentAttemptId: second.attempt.id, startedAt });

    // FAILED attempts count too; PREEMPTED ones do not.
    await attempts.close(second.attempt.id, 'FAILED', 'boom');
    const third = await attempts.openCurrent(run.id, null);
    expect(third).toMatchObject({ crashed: [], failures: 2 });
    await attempts.close(third.attempt.id, 'PREEMPTED');
    expect((await attempts.openCurrent(run.id, null)).failures).toBe(2);
  });

  it('never revives a terminal run, and names a run that does not exist; neither writes anything', async () => {
    const run = await newRun();
    await runs.finish(run.id, 'CANCELLED');
    await expect(attempts.openCurrent(run.id, 'w-a')).rejects.toThrow(RunStateError);
    await expect(attempts.openCurrent(run.id, 'w-a')).rejects.toMatchObject({ status: 'CANCELLED' });
    expect(await attempts.listByRun(run.id)).toEqual([]);
    expect((await runs.get(run.id))!.status).toBe('CANCELLED');

    const missing = randomUUID();
    await expect(attempts.openCurrent(missing, null)).rejects.toThrow(RunNotFoundError);
  });

  it('holds a project to its running limit, and lets a run already RUNNING be taken over at the limit', async () => {
    const project = `limit-${randomUUID().slice(0, 8)}`;
    const [a, b] = [await newRun(project), await newRun(project)];
    const opened = await attempts.openCurrent(a.id, 'w-a', { runningPerProject: 1 });
    await expect(attempts.openCurrent(b.id, 'w-b', { runningPerProject: 1 })).rejects.toThrow(ProjectAtCapacityError);
    await expect(attempts.openCurrent(b.id, 'w-b', { runningPerProject: 1 })).rejects.toMatchObject({
      project,
      limit: 1,
    });
    expect(await attempts.listByRun(b.id)).toEqual([]);
    expect((await runs.get(b.id))!.status).toBe('QUEUED');
    // Another project is not held by this one's limit.
    await expect(
      attempts.openCurrent((await newRun(`${project}-other`)).id, null, { runningPerProject: 1 }),
    ).resolves.toBeDefined();

    const takeover = await attempts.openCurrent(a.id, 'w-b', { runningPerProject: 1 });
    expect(takeover.crashed.map((c) => c.id)).toEqual([opened.attempt.id]);
  });

  it("holds a project to its own limit before the caller's default, in both directions, until it is removed", async () => {
    const project = `own-${randomUUID().slice(0, 8)}`;
    const runsOf = await Promise.all(Array.from({ length: 4 }, () => newRun(project)));
    // Its own limit where the worker has no default at all.
    await projects.setLimits(project, { maxRunning: 1 });
    await attempts.openCurrent(runsOf[0]!.id, 'w-a');
    await expect(attempts.openCurrent(runsOf[1]!.id, 'w-a')).rejects.toMatchObject({
      name: 'ProjectAtCapacityError',
      project,
      limit: 1,
    });
    // A lower default does not hold a project whose own limit is higher…
    await projects.setLimits(project, { maxRunning: 2 });
    await attempts.openCurrent(runsOf[1]!.id, 'w-a', { runningPerProject: 1 });
    // …and a higher default does not lift its own.
    await expect(attempts.openCurrent(runsOf[2]!.id, 'w-a', { runningPerProject: 10 })).rejects.toMatchObject({
      limit: 2,
    });
    // Removed: the default applies again (10 here), and no default means no limit.
    await projects.setLimits(project, { maxRunning: null });
    await expect(attempts.openCurrent(runsOf[2]!.id, 'w-a', { runningPerProject: 2 })).rejects.toMatchObject({
      limit: 2,
    });
    await attempts.openCurrent(runsOf[2]!.id, 'w-a', { runningPerProject: 10 });
    await attempts.openCurrent(runsOf[3]!.id, 'w-a');
    expect(await projects.load(project)).toEqual({
      project,
      maxRunning: null,
      maxQueued: null,
      maxPriority: null,
      maxUploadBytes: null,
      running: 4,
      waiting: 0,
      checkpointBytes: 0,
    });
  });

  it('numbers racing takeovers of one run without collisions, and leaves exactly one attempt RUNNING', async () => {
    const run = await newRun();
    const opened = await Promise.all([1, 2, 3, 4, 5].map(() => attempts.openCurrent(run.id, null)));
    expect(opened.map((o) => o.attempt.number).sort()).toEqual([1, 2, 3, 4, 5]);
    const stored = await attempts.listByRun(run.id);
    expect(stored.filter((a) => a.outcome === 'RUNNING')).toEqual([
      opened.find((o) => o.attempt.number === 5)!.attempt,
    ]);
    expect((await runs.get(run.id))!.currentAttemptId).toBe(stored[4]!.id);
  });

  it('lets no more runs of a project start at once than its limit, however many workers race', async () => {
    const project = `race-${randomUUID().slice(0, 8)}`;
    const queued = await Promise.all(Array.from({ length: 8 }, () => newRun(project)));
    const results = await Promise.allSettled(
      queued.map((r) => attempts.openCurrent(r.id, null, { runningPerProject: 3 })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    for (const r of results.filter((r) => r.status === 'rejected'))
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ProjectAtCapacityError);
    const statuses = await Promise.all(queued.map(async (r) => (await runs.get(r.id))!.status));
    expect(statuses.filter((s) => s === 'RUNNING')).toHaveLength(3);
  });
});

describe('AttemptsRepository.trainingTimeUsedMs', () => {
  let db: Database;
  let runs: RunsRepository;
  let attempts: AttemptsRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
    attempts = new AttemptsRepository(db.prisma);
    const workers = new WorkersRepository(db.prisma);
    for (const id of ['w-dead', 'w-ok'])
      await workers.register({ id, hostname: id, pid: 1, backend: 'wasm', gpu: null, concurrency: 1 });
  });

  const at = (minutes: number) => new Date(Date.UTC(2026, 10, 1, 10, 0) + minutes * 60_000);
  const setTimes = (id: string, from: number, to: number | null, outcome?: string) =>
    db.prisma.$executeRawUnsafe(
      `UPDATE attempts SET started_at = $2, ended_at = $3${outcome ? `, outcome = '${outcome}'` : ''} WHERE id = $1::uuid`,
      id,
      at(from),
      to === null ? null : at(to),
    );

  it('adds up the earlier attempts, a crashed one only up to its worker’s last heartbeat, never the current one', async () => {
    const run = await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'r', spec, baseRunId: null });
    const first = await attempts.openCurrent(run.id, 'w-ok');
    const second = await attempts.openCurrent(run.id, 'w-dead'); // closes the first CRASHED
    const third = await attempts.openCurrent(run.id, 'w-ok'); // closes the second CRASHED
    // The first: preempted after 30 min. The second: its worker died 10 min in, and the run was
    // taken over two hours later (the weekend of an outage): 10 min count, not 130.
    await setTimes(first.attempt.id, 0, 30, 'PREEMPTED');
    await setTimes(second.attempt.id, 60, 190);
    await db.prisma.$executeRawUnsafe(`UPDATE workers SET last_heartbeat_at = $2 WHERE id = $1`, 'w-dead', at(70));
    await setTimes(third.attempt.id, 200, null);
    expect(await attempts.trainingTimeUsedMs(run.id, third.attempt.id)).toBe(40 * 60_000);
    // A crashed attempt whose worker heartbeated past its close counts to its close.
    await db.prisma.$executeRawUnsafe(`UPDATE workers SET last_heartbeat_at = $2 WHERE id = $1`, 'w-dead', at(500));
    expect(await attempts.trainingTimeUsedMs(run.id, third.attempt.id)).toBe(160 * 60_000);
  });
});

describe('AttemptsRepository.storeOutage', () => {
  let runs: RunsRepository;
  let attempts: AttemptsRepository;
  let writes: AttemptWritesRepository;

  useMigratedDatabase(async (db) => {
    runs = new RunsRepository(db.prisma);
    attempts = new AttemptsRepository(db.prisma);
    writes = new AttemptWritesRepository(db.prisma);
  });

  /** Opens the run's next attempt and ends it as `how` says. */
  const attemptEnding = async (runId: string, how: 'store' | 'preempted' | 'failed') => {
    const { attempt } = await attempts.openCurrent(runId, null);
    const fence = { runId, attemptId: attempt.id };
    const error = how === 'store' ? `${STORE_OUTAGE_ERROR}run ${runId}: put failed (ECONNREFUSED)` : how;
    await writes.conclude(fence, { attempt: how === 'failed' ? 'FAILED' : 'PREEMPTED', error, run: 'PREEMPTED' });
    return attempt;
  };

  it('counts the attempts in a row, the latest ones, that ended waiting for the store, and when the first started', async () => {
    const run = await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'r', spec, baseRunId: null });
    expect(await attempts.storeOutage(run.id)).toBeNull();
    await attemptEnding(run.id, 'store');
    await attemptEnding(run.id, 'failed');
    // An outage that another failure ended is over: the next one starts from nothing.
    expect(await attempts.storeOutage(run.id)).toBeNull();
    const first = await attemptEnding(run.id, 'store');
    await attemptEnding(run.id, 'store');
    expect(await attempts.storeOutage(run.id)).toEqual({ waits: 2, since: first.startedAt });
    // The attempt open now does not count, nor does a preemption for another reason (a drain).
    await attempts.openCurrent(run.id, null);
    expect((await attempts.storeOutage(run.id))?.waits).toBe(2);
    const other = await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'r', spec, baseRunId: null });
    await attemptEnding(other.id, 'store');
    await attemptEnding(other.id, 'preempted');
    expect(await attempts.storeOutage(other.id)).toBeNull();
  });

  it("rewrites a store wait's reason as the next attempt opens, and keeps any other", async () => {
    const run = await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'r', spec, baseRunId: null });
    const { attempt } = await attempts.openCurrent(run.id, null);
    const failureReason = storeWaitReason(3, 40, 'checkpoint 2: put failed (ECONNREFUSED)');
    await writes.conclude(
      { runId: run.id, attemptId: attempt.id },
      { attempt: 'PREEMPTED', error: `${STORE_OUTAGE_ERROR}put failed`, run: 'PREEMPTED', failureReason },
    );
    expect((await runs.get(run.id))!.failureReason).toBe(
      'waiting for the object store (try 3, in 40 s): checkpoint 2: put failed (ECONNREFUSED)',
    );
    const next = await attempts.openCurrent(run.id, null);
    expect((await runs.get(run.id))!.failureReason).toBe(
      'retrying after waiting for the object store (try 3): checkpoint 2: put failed (ECONNREFUSED)',
    );
    // A retried failure's reason reads right while the retry trains: it stays.
    await writes.conclude(
      { runId: run.id, attemptId: next.attempt.id },
      { attempt: 'FAILED', error: 'boom', run: 'PREEMPTED', failureReason: 'retrying after: boom' },
    );
    await attempts.openCurrent(run.id, null);
    expect((await runs.get(run.id))!.failureReason).toBe('retrying after: boom');
  });
});
