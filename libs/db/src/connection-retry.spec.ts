import { isConnectionError, withConnectionRetry } from './connection-retry';

describe('withConnectionRetry', () => {
  it('recognises lost connections through the cause chain, not other errors', () => {
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('x'), { cause: { code: '57P01' } }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
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
