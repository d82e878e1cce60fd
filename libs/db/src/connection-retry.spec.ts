import { databaseUnavailable, isConnectionError, isStatementTimeout, withConnectionRetry } from './connection-retry';

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
});
