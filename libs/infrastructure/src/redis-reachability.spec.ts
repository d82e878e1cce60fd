import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { logQueueErrors, watchRedisConnection } from './redis-reachability';

/** What watchRedisConnection uses of an ioredis client: its events, options and duplicate(). */
class StandInConnection extends EventEmitter {
  constructor(readonly options: { host: string; port: number }) {
    super();
  }
  duplicate(): StandInConnection {
    return new StandInConnection(this.options);
  }
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6390'), { code: 'ECONNREFUSED' });

describe('Redis reachability lines', () => {
  let lines: string[];
  beforeEach(() => {
    lines = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => void lines.push(`error ${message}`));
    jest.spyOn(Logger.prototype, 'log').mockImplementation((message: unknown) => void lines.push(`log ${message}`));
  });
  afterEach(() => jest.restoreAllMocks());

  const connection = (port: number) =>
    watchRedisConnection(new StandInConnection({ host: '10.0.0.1', port }) as unknown as Redis);

  it('says once that Redis is unreachable, whatever the retries and connections, and once that it is back', () => {
    const main = connection(6390);
    // BullMQ's Workers and QueueEvents duplicate the connection they are given.
    const blocking = main.duplicate();
    for (let attempt = 0; attempt < 20; attempt++) {
      main.emit('error', refused());
      blocking.emit('error', refused());
    }
    expect(lines).toEqual(['error Redis at 10.0.0.1:6390 unreachable (ECONNREFUSED); retrying']);
    main.emit('ready');
    expect(lines).toHaveLength(1); // the duplicate still fails
    blocking.emit('error', new Error('WRONGPASS invalid password'));
    blocking.emit('ready');
    expect(lines.slice(1)).toEqual([
      'error Redis at 10.0.0.1:6390 still unreachable, now WRONGPASS invalid password; retrying',
      expect.stringMatching(/^log Redis at 10\.0\.0\.1:6390 reachable again \(unreachable for \d+\.\d s\)$/),
    ]);
  });

  it('keeps to one line when only the network’s reason changes (a crash’s EPIPE, then ECONNREFUSED)', () => {
    const main = connection(6393);
    main.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    main.emit('error', refused());
    main.emit('error', Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }));
    expect(lines).toEqual(['error Redis at 10.0.0.1:6393 unreachable (EPIPE); retrying']);
  });

  it('ends an outage silently when its connections are closed before any got through', () => {
    const a = connection(6391);
    a.emit('error', refused());
    a.emit('end');
    a.emit('ready'); // a new outage would be a new line; a ready after nothing failed is none
    const b = connection(6391);
    b.emit('error', refused());
    expect(lines).toEqual([
      'error Redis at 10.0.0.1:6391 unreachable (ECONNREFUSED); retrying',
      'error Redis at 10.0.0.1:6391 unreachable (ECONNREFUSED); retrying',
    ]);
  });

  it('leaves the errors a connection reported to it, and logs a queue’s own', () => {
    const main = connection(6392);
    const queue = new EventEmitter();
    const logged: string[] = [];
    logQueueErrors(queue, { error: (message) => logged.push(message) }, 'queue q');
    main.on('error', (error: Error) => queue.emit('error', error)); // as BullMQ forwards them
    main.emit('error', refused());
    queue.emit('error', new Error('NOSCRIPT No matching script'));
    expect(logged).toEqual(['queue q: NOSCRIPT No matching script']);
  });
});
