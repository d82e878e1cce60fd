import {
  DatabaseOutageError,
  databaseUnavailable,
  isConnectionError,
  isStatementTimeout,
  isTooManyConnections,
  withConnectionRetry,
  type RetryClock,
} from './connection-retry';

/** A clock whose sleeps only move its time on, and record how long each was. */
function fakeClock(): RetryClock & { waits: number[]; nowMs: number } {
  const clock = {
    nowMs: 0,
    waits: [] as number[],
    now: () => clock.nowMs,
    sleep: async (ms: number, signal?: AbortSignal) => {
      clock.waits.push(ms);
      if (!signal?.aborted) clock.nowMs += ms;
    },
  };
  return clock;
}

const refused = () =>
  Object.assign(new Error('Invalid `prisma.run.findUnique()` invocation:\n\nthe database system is shutting down'), {
    code: '57P03',
  });

describe('withConnectionRetry', () => {
  it('recognises lost connections through the cause chain, not other errors', () => {
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('x'), { cause: { code: '57P01' } }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    // A server that stopped answering: pg's query and connect deadlines.
    expect(isConnectionError(new Error('Query read timeout'))).toBe(true);
    expect(isConnectionError(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated due to connection timeout'))).toBe(true);
  });

  it('takes a connection refused as too many (53300) for a lost one, and tells it apart', () => {
    // As Prisma 7's pg adapter reports it (seen in apps/api/src/http/full-database.int-spec.ts).
    const adapter = (code: string) =>
      Object.assign(new Error('Too many database connections opened: too many connections for role "r"'), {
        clientVersion: '7',
        code,
        meta: { driverAdapterError: { cause: { originalCode: '53300', kind: 'TooManyConnections' } } },
      });
    for (const error of [
      adapter('P2037'),
      adapter('P2010'),
      Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
    ]) {
      expect(isTooManyConnections(error)).toBe(true);
      expect(isConnectionError(error)).toBe(true);
    }
    expect(databaseUnavailable(adapter('P2037'))).toBe('unreachable');
    expect(isTooManyConnections(refused())).toBe(false);
  });

  it('tells a statement the server cancelled at its deadline, and only the database client’s errors as an outage', () => {
    expect(
      isStatementTimeout(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })),
    ).toBe(true);
    expect(isStatementTimeout(new Error('Raw query failed. Code: `57014`. Message: `canceling statement…`'))).toBe(
      true,
    );
    expect(isStatementTimeout(Object.assign(new Error('x'), { meta: { code: '57014' } }))).toBe(true);
    expect(
      isStatementTimeout(Object.assign(new Error('canceling statement due to user request'), { code: '57015' })),
    ).toBe(false);
    const client = (message: string, fields = {}) =>
      Object.assign(new Error(message), { clientVersion: '7', ...fields });
    expect(databaseUnavailable(client('Query read timeout'))).toBe('unreachable');
    expect(databaseUnavailable(new Error('outer', { cause: client('x', { code: '57014' }) }))).toBe('timeout');
    expect(databaseUnavailable(client('Unique constraint failed', { code: 'P2002' }))).toBeNull();
    // The same words from something else (another service's socket) are not the database's.
    expect(databaseUnavailable(new Error('connect ECONNREFUSED 127.0.0.1:6379'))).toBeNull();
  });

  it('retries a lost connection and gives other errors back at once', async () => {
    let calls = 0;
    const flaky = () =>
      ++calls < 3
        ? Promise.reject(new Error('terminating connection due to administrator command'))
        : Promise.resolve('ok');
    await expect(withConnectionRetry(flaky, { baseDelayMs: 1 })).resolves.toBe('ok');
    expect(calls).toBe(3);
    let other = 0;
    await expect(
      withConnectionRetry(() => (other++, Promise.reject(new RangeError('bad'))), { baseDelayMs: 1 }),
    ).rejects.toThrow('bad');
    expect(other).toBe(1);
  });

  it('keeps today’s tries when no time budget is given', async () => {
    const clock = fakeClock();
    let calls = 0;
    const error = refused();
    await expect(withConnectionRetry(() => (calls++, Promise.reject(error)), { clock })).rejects.toBe(error);
    expect(calls).toBe(6);
    expect(clock.waits).toEqual([100, 200, 400, 800, 1600]);
  });

  it('retries for its time budget with capped waits, then says how long the database was unreachable', async () => {
    const clock = fakeClock();
    const retries: number[] = [];
    let calls = 0;
    const failure = withConnectionRetry(() => (calls++, Promise.reject(refused())), {
      clock,
      patienceMs: 20_000,
      maxDelayMs: 5000,
      onRetry: (_error, _attempt, awayMs) => retries.push(awayMs),
    });
    await expect(failure).rejects.toThrow(
      'the database was unreachable for 20 s (10 tries): the database system is shutting down',
    );
    await expect(failure).rejects.toBeInstanceOf(DatabaseOutageError);
    // Doubling from 100 ms, never more than 5 s apart, and the last try as the budget ends.
    expect(clock.waits).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 3700]);
    expect(calls).toBe(10);
    expect(retries[0]).toBe(0);
    expect(clock.nowMs).toBe(20_000);
    // Still a lost connection to whoever reads it: its cause is the last one.
    expect(isConnectionError(await failure.catch((e: unknown) => e))).toBe(true);
  });

  it('says once how long the database was away when it answers again, within its budget', async () => {
    const clock = fakeClock();
    const recovered: [number, number][] = [];
    let calls = 0;
    const value = await withConnectionRetry(
      () => (++calls <= 4 ? Promise.reject(refused()) : Promise.resolve('written')),
      { clock, patienceMs: 60_000, onRecovered: (awayMs, tries) => recovered.push([awayMs, tries]) },
    );
    expect(value).toBe('written');
    expect(recovered).toEqual([[1500, 5]]);
    // An answer that is an error of the database's own (a fenced write) is an answer too.
    const fenced = new Error('attempt fenced off');
    let other = 0;
    await expect(
      withConnectionRetry(() => (++other === 1 ? Promise.reject(refused()) : Promise.reject(fenced)), {
        clock,
        patienceMs: 60_000,
        onRecovered: (awayMs, tries) => recovered.push([awayMs, tries]),
      }),
    ).rejects.toBe(fenced);
    expect(recovered).toEqual([
      [1500, 5],
      [100, 2],
    ]);
    // Nothing lost, nothing said.
    await withConnectionRetry(() => Promise.resolve(1), { clock, onRecovered: () => recovered.push([-1, -1]) });
    expect(recovered).toHaveLength(2);
  });

  it('gives up at the next lost connection once the process stops, a wait under way cut short', async () => {
    const clock = fakeClock();
    const stopping = new AbortController();
    const sleep = clock.sleep;
    clock.sleep = (ms, signal) => {
      if (clock.waits.length === 3) stopping.abort();
      return sleep(ms, signal);
    };
    let calls = 0;
    const failure = withConnectionRetry(() => (calls++, Promise.reject(refused())), {
      clock,
      patienceMs: 120_000,
      signal: stopping.signal,
    });
    await expect(failure).rejects.toThrow(
      'the database was unreachable for 1 s (5 tries, given up as the process stops): the database system is shutting down',
    );
    expect(calls).toBe(5);
    expect(clock.waits).toEqual([100, 200, 400, 800]);
    expect(clock.nowMs).toBe(700); // the 800 ms wait the stop cut short never passed
  });

  it('retries only what `retryOn` takes for a lost connection, when the call reaches more than the database', async () => {
    const clock = fakeClock();
    const store = new Error('connect ECONNREFUSED 127.0.0.1:9000'); // the object store's socket, not the database's
    const retryOn = (e: unknown) => databaseUnavailable(e) === 'unreachable';
    let calls = 0;
    await expect(
      withConnectionRetry(() => (calls++, Promise.reject(store)), { clock, patienceMs: 60_000, retryOn }),
    ).rejects.toBe(store);
    expect(calls).toBe(1);
    const prisma = Object.assign(refused(), { clientVersion: '7' });
    calls = 0;
    await expect(
      withConnectionRetry(() => (++calls < 3 ? Promise.reject(prisma) : Promise.resolve('read')), {
        clock,
        patienceMs: 60_000,
        retryOn,
      }),
    ).resolves.toBe('read');
    expect(calls).toBe(3);
  });
});
