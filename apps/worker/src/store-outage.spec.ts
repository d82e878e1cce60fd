import { storeWait } from './store-outage';

describe('storeWait: a run waiting for an object store it cannot reach', () => {
  const now = Date.parse('2026-12-06T12:00:00Z');
  const since = (minutesAgo: number, waits: number) => ({ waits, since: new Date(now - minutesAgo * 60_000) });
  const patience = 30 * 60_000;

  it('waits 10 s at the first failure, doubling after each, never past 2 minutes', () => {
    expect(storeWait(null, now, patience)).toEqual({ delayMs: 10_000, tries: 1 });
    expect(storeWait(since(0.2, 1), now, patience)).toEqual({ delayMs: 20_000, tries: 2 });
    expect(storeWait(since(1, 3), now, patience)).toEqual({ delayMs: 80_000, tries: 4 });
    expect(storeWait(since(5, 4), now, patience)).toEqual({ delayMs: 120_000, tries: 5 });
    expect(storeWait(since(20, 40), now, patience)).toEqual({ delayMs: 120_000, tries: 41 });
  });

  it('starts from WORKER_STORE_WAIT_FIRST_MS when it is set, doubling the same way', () => {
    expect(storeWait(null, now, patience, 1500)).toEqual({ delayMs: 1500, tries: 1 });
    expect(storeWait(since(0.2, 2), now, patience, 1500)).toEqual({ delayMs: 6000, tries: 3 });
    expect(storeWait(since(5, 10), now, patience, 1500)).toEqual({ delayMs: 120_000, tries: 11 });
  });

  it('stops waiting once the outage has lasted WORKER_STORE_OUTAGE_PATIENCE_MS, or at once with 0', () => {
    expect(storeWait(since(29.9, 15), now, patience)).not.toBeNull();
    expect(storeWait(since(30, 15), now, patience)).toBeNull();
    expect(storeWait(null, now, 0)).toBeNull();
  });
});
