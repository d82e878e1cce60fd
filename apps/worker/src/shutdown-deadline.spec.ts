import type { TrainingOutcome } from '@trainyard/training/supervisor';
import { ActiveTrainings } from './active-trainings';
import type { TrainingContext } from './training-context';
import { exitPastShutdownDeadline, SHUTDOWN_MARGIN_MS, shutdownDeadlineMessage } from './shutdown-deadline';

describe('shutdownDeadlineMessage', () => {
  const redisDown = { endpoint: '127.0.0.1:6379', problem: 'connection reconnecting' };
  const redisUp = { endpoint: '127.0.0.1:6379', problem: null };

  it('counts the jobs not yet put back, not the trainings, when Redis does not answer', () => {
    expect(
      shutdownDeadlineMessage({ timeoutMs: 30_000, training: [], finishing: [], held: ['r1'], redis: redisDown }),
    ).toBe(
      'shutdown deadline (30000 ms) passed with 1 job(s) held and none training: 1 not yet put back in the queue (run r1): ' +
        'Redis at 127.0.0.1:6379 does not answer (connection reconnecting); exiting without them: another worker takes them over once their locks expire',
    );
  });

  it('tells trainings that did not stop from jobs whose conclusion waits', () => {
    expect(
      shutdownDeadlineMessage({
        timeoutMs: 30_000,
        training: ['r1'],
        finishing: [],
        held: ['r1', 'r2', 'r3'],
        redis: redisUp,
      }),
    ).toBe(
      'shutdown deadline (30000 ms) passed with 3 job(s) held: 1 still training, not stopped at a checkpoint yet (run r1); ' +
        '2 not yet put back in the queue (runs r2, r3): waiting on PostgreSQL or the object store; ' +
        'exiting without them: another worker takes them over once their locks expire',
    );
  });

  it('tells an attempt whose training process exited, finishing its retention or outcome, from one still training', async () => {
    const active = new ActiveTrainings();
    const exits: Array<() => void> = [];
    const context = (runId: string): TrainingContext => {
      const done = new Promise<TrainingOutcome>((resolve) =>
        exits.push(() => resolve({ status: 'preempted' } as TrainingOutcome)),
      );
      return {
        fence: { runId, attemptId: `a-${runId}` },
        handle: { pid: 1, done, cancel() {}, preempt() {} },
      } as unknown as TrainingContext;
    };
    const [r1, r2] = [context('r1'), context('r2')];
    for (const c of [r1, r2]) {
      active.add(c);
      active.started(c);
    }
    const message = () =>
      shutdownDeadlineMessage({
        timeoutMs: 4000,
        training: active.runIds,
        finishing: active.finishingRunIds,
        held: ['r1', 'r2'],
        redis: redisUp,
      });
    expect(message()).toBe(
      'shutdown deadline (4000 ms) passed with 2 job(s) held: 2 still training, not stopped at a checkpoint yet (runs r1, r2); ' +
        'exiting without them: another worker takes them over once their locks expire',
    );

    exits[1]!(); // r2's training process exits; its attempt waits for its retention
    await new Promise((resolve) => setImmediate(resolve));
    expect(message()).toBe(
      'shutdown deadline (4000 ms) passed with 2 job(s) held: 1 still training, not stopped at a checkpoint yet (run r1); ' +
        '1 finishing its attempt, training ended (run r2): checkpoint retention or the outcome waits on PostgreSQL or the object store; ' +
        'exiting without them: another worker takes them over once their locks expire',
    );

    exits[0]!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(message()).toBe(
      'shutdown deadline (4000 ms) passed with 2 job(s) held and none training: 2 finishing their attempts, training ended (runs r1, r2): ' +
        'checkpoint retention or the outcome waits on PostgreSQL or the object store; ' +
        'exiting without them: another worker takes them over once their locks expire',
    );
  });

  it('says when no job is held but BullMQ still waits on Redis', () => {
    expect(shutdownDeadlineMessage({ timeoutMs: 5000, training: [], finishing: [], held: [], redis: redisDown })).toBe(
      'shutdown deadline (5000 ms) passed with no job held, but BullMQ had not finished with Redis: ' +
        'Redis at 127.0.0.1:6379 does not answer (connection reconnecting); exiting',
    );
  });
});

describe('exitPastShutdownDeadline', () => {
  it('exits SHUTDOWN_MARGIN_MS past the deadline from the first signal, once, saying so', async () => {
    const said: string[] = [];
    const exits: number[] = [];
    const exit = () => void exits.push(Date.now());
    exitPastShutdownDeadline(200, (message) => said.push(message), ['SIGUSR2'], exit);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(exits).toEqual([]); // nothing before a signal
    const signalledAt = Date.now();
    process.emit('SIGUSR2');
    process.emit('SIGUSR2'); // a second signal arms nothing more
    await new Promise((resolve) => setTimeout(resolve, 200 + SHUTDOWN_MARGIN_MS + 300));
    expect(exits).toHaveLength(1);
    expect(exits[0]! - signalledAt).toBeGreaterThanOrEqual(200 + SHUTDOWN_MARGIN_MS - 5);
    expect(said).toEqual([
      'shutdown not done 1000 ms past its deadline (200 ms, WORKER_SHUTDOWN_TIMEOUT_MS): exiting without closing its connections',
    ]);
    expect(process.listenerCount('SIGUSR2')).toBe(0);
  });
});
