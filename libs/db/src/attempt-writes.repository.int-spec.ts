import { randomUUID } from 'node:crypto';
import type { RunResult, RunSpec } from '@trainyard/contracts';
import { AttemptWritesRepository } from './attempt-writes.repository';
import { AttemptsRepository } from './attempts.repository';
import { FencedError, RunStateError } from './errors';
import type { Database } from './open-database';
import { RunsRepository } from './runs.repository';
import { useMigratedDatabase } from './testing';

const spec = { kind: 'pretrain', name: 'ae', dataset: { source: 'mnist' } } as unknown as RunSpec;

/** AttemptWritesRepository.conclude: one statement when the attempt is current, else the fenced transaction. */
describe('AttemptWritesRepository.conclude', () => {
  let db: Database;
  let runs: RunsRepository;
  let attempts: AttemptsRepository;
  let writes: AttemptWritesRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
    attempts = new AttemptsRepository(db.prisma);
    writes = new AttemptWritesRepository(db.prisma);
  });

  /** A run RUNNING on attempt 1, and that attempt's fence. */
  async function running() {
    const run = await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'r', spec, baseRunId: null });
    const { attempt } = await attempts.openCurrent(run.id, null);
    return { runId: run.id, attemptId: attempt.id };
  }

  it('ends the run and its attempt together, with the result', async () => {
    const fence = await running();
    const result = { finalLoss: 0.25 } as unknown as RunResult;
    await writes.conclude(fence, { attempt: 'SUCCEEDED', run: 'SUCCEEDED', result });
    const run = await runs.get(fence.runId);
    expect(run).toMatchObject({ status: 'SUCCEEDED', result, failureReason: null });
    expect(run!.endedAt).toBeInstanceOf(Date);
    const [attempt] = await attempts.listByRun(fence.runId);
    expect(attempt).toMatchObject({ outcome: 'SUCCEEDED', error: null });
    expect(attempt!.endedAt).toBeInstanceOf(Date);
  });

  it('leaves a run that will be retried without an end, with the reason on both', async () => {
    const fence = await running();
    await writes.conclude(fence, {
      attempt: 'FAILED',
      error: 'boom',
      run: 'PREEMPTED',
      failureReason: 'retrying after: boom',
    });
    expect(await runs.get(fence.runId)).toMatchObject({
      status: 'PREEMPTED',
      endedAt: null,
      failureReason: 'retrying after: boom',
      result: null,
    });
    expect((await attempts.listByRun(fence.runId))[0]).toMatchObject({ outcome: 'FAILED', error: 'boom' });
  });

  it('clears an earlier attempt\'s "retrying after" once the run SUCCEEDED; the attempt keeps its error', async () => {
    const fence = await running();
    const reason = 'retrying after: put "runs/x/model.json" failed (ECONNREFUSED)';
    await writes.conclude(fence, { attempt: 'FAILED', error: 'ECONNREFUSED', run: 'PREEMPTED', failureReason: reason });
    const { attempt: second } = await attempts.openCurrent(fence.runId, null);
    const retry = { runId: fence.runId, attemptId: second.id };
    await writes.conclude(retry, { attempt: 'SUCCEEDED', run: 'SUCCEEDED' });
    expect(await runs.get(fence.runId)).toMatchObject({ status: 'SUCCEEDED', failureReason: null });
    expect((await attempts.listByRun(fence.runId)).map((a) => [a.outcome, a.error])).toEqual([
      ['FAILED', 'ECONNREFUSED'],
      ['SUCCEEDED', null],
    ]);
    // A run cancelled while it waited for its retry keeps why it was waiting.
    const other = await running();
    await writes.conclude(other, {
      attempt: 'FAILED',
      error: 'boom',
      run: 'PREEMPTED',
      failureReason: 'retrying after: boom',
    });
    const { attempt: again } = await attempts.openCurrent(other.runId, null);
    await writes.conclude({ runId: other.runId, attemptId: again.id }, { attempt: 'CANCELLED', run: 'CANCELLED' });
    expect((await runs.get(other.runId))!.failureReason).toBe('retrying after: boom');
  });

  it('writes nothing for an attempt that was replaced: FencedError', async () => {
    const fence = await running();
    const { attempt: second } = await attempts.openCurrent(fence.runId, null);
    await expect(writes.conclude(fence, { attempt: 'SUCCEEDED', run: 'SUCCEEDED' })).rejects.toThrow(FencedError);
    expect((await runs.get(fence.runId))!.status).toBe('RUNNING');
    expect((await attempts.listByRun(fence.runId)).map((a) => a.outcome)).toEqual(['CRASHED', 'RUNNING']);
    expect(second.outcome).toBe('RUNNING');
  });

  it('closes the attempt of a run that already ended the same way, and refuses another ending', async () => {
    const fence = await running();
    await runs.finish(fence.runId, 'CANCELLED');
    await writes.conclude(fence, { attempt: 'CANCELLED', run: 'CANCELLED' });
    expect((await attempts.listByRun(fence.runId))[0]!.outcome).toBe('CANCELLED');

    const other = await running();
    await runs.finish(other.runId, 'CANCELLED');
    await expect(writes.conclude(other, { attempt: 'SUCCEEDED', run: 'SUCCEEDED' })).rejects.toThrow(RunStateError);
    expect((await attempts.listByRun(other.runId))[0]!.outcome).toBe('RUNNING');
    expect((await runs.get(other.runId))!.status).toBe('CANCELLED');
  });

  it('racing a takeover, either the ending or the new attempt wins, never both', async () => {
    for (let i = 0; i < 20; i++) {
      const fence = await running();
      const [ended, opened] = await Promise.allSettled([
        writes.conclude(fence, { attempt: 'SUCCEEDED', run: 'SUCCEEDED' }),
        attempts.openCurrent(fence.runId, null),
      ]);
      const run = (await runs.get(fence.runId))!;
      const outcomes = (await attempts.listByRun(fence.runId)).map((a) => a.outcome);
      if (ended.status === 'fulfilled') {
        expect(opened).toMatchObject({ status: 'rejected', reason: expect.any(RunStateError) });
        expect(run.status).toBe('SUCCEEDED');
        expect(outcomes).toEqual(['SUCCEEDED']);
      } else {
        expect(ended.reason).toBeInstanceOf(FencedError);
        expect(opened.status).toBe('fulfilled');
        expect(run.status).toBe('RUNNING');
        expect(outcomes).toEqual(['CRASHED', 'RUNNING']);
      }
    }
  });
});
