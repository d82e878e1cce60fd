import { exitPastShutdownDeadline, SHUTDOWN_MARGIN_MS, shutdownDeadlineMessage } from './shutdown-deadline';

describe('shutdownDeadlineMessage', () => {
  const redisDown = { endpoint: '127.0.0.1:6379', problem: 'connection reconnecting' };
  const redisUp = { endpoint: '127.0.0.1:6379', problem: null };

  it('counts the jobs not yet put back, not the trainings, when Redis does not answer', () => {
    expect(shutdownDeadlineMessage({ timeoutMs: 30_000, training: [], held: ['r1'], redis: redisDown })).toBe(
      'shutdown deadline (30000 ms) passed with 1 job(s) held and none training: 1 not yet put back in the queue (run r1): ' +
        'Redis at 127.0.0.1:6379 does not answer (connection reconnecting); exiting without them: another worker takes them over once their locks expire',
    );
  });

  it('tells trainings that did not stop from jobs whose conclusion waits', () => {
    expect(
      shutdownDeadlineMessage({ timeoutMs: 30_000, training: ['r1'], held: ['r1', 'r2', 'r3'], redis: redisUp }),
    ).toBe(
      'shutdown deadline (30000 ms) passed with 3 job(s) held: 1 still training, not stopped at a checkpoint yet (run r1); ' +
        '2 not yet put back in the queue (runs r2, r3): waiting on PostgreSQL or the object store; ' +
        'exiting without them: another worker takes them over once their locks expire',
    );
  });

  it('says when no job is held but BullMQ still waits on Redis', () => {
    expect(shutdownDeadlineMessage({ timeoutMs: 5000, training: [], held: [], redis: redisDown })).toBe(
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
