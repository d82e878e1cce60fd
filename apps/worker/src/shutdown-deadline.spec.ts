import { shutdownDeadlineMessage } from './shutdown-deadline';

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
