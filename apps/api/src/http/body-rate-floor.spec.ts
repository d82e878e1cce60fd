import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchBodyRate, type SlowBody } from './body-rate-floor';

const WINDOW_MS = 1000;

describe('watchBodyRate', () => {
  it('does not count the time the reader held the body back (backpressure), only the time it waited for the client', async () => {
    const body = new PassThrough();
    const slow: SlowBody[] = [];
    const floor = watchBodyRate(body, { minBytesPerSecond: 100, windowMs: WINDOW_MS }, (s) => slow.push(s));
    body.on('data', () => undefined);
    body.pause(); // as pipe does while its destination is full: the client cannot send
    await sleep(2 * WINDOW_MS);
    expect(slow).toEqual([]);
    body.resume(); // waiting for the client again: nothing comes, and a window later it is judged
    await sleep(1.6 * WINDOW_MS);
    expect(slow).toHaveLength(1);
    expect(slow[0]!.bytesPerSecond).toBe(0);
    expect(slow[0]!.windowMs).toBeGreaterThanOrEqual(WINDOW_MS);
    floor.stop();
  });

  it('leaves a body at or above the floor alone, judges one below it once, and never one turned off (0)', async () => {
    const fast = new PassThrough();
    const slowBody = new PassThrough();
    const off = new PassThrough();
    const calls = { fast: 0, slow: 0, off: 0 };
    const floors = {
      fast: watchBodyRate(fast, { minBytesPerSecond: 1000, windowMs: WINDOW_MS }, () => calls.fast++),
      slow: watchBodyRate(slowBody, { minBytesPerSecond: 1000, windowMs: WINDOW_MS }, () => calls.slow++),
      off: watchBodyRate(off, { minBytesPerSecond: 0, windowMs: WINDOW_MS }, () => calls.off++),
    };
    for (const body of [fast, slowBody, off]) body.on('data', () => undefined);
    for (let i = 0; i < 25; i++) {
      floors.fast.count(200); // 2,000 bytes/s
      floors.slow.count(20); // 200 bytes/s
      await sleep(100);
    }
    expect(calls).toEqual({ fast: 0, slow: 1, off: 0 });
    floors.fast.stop();
  });

  it('leaves a slow body alone while nobody wants its place, and cuts it within a tick once someone does', async () => {
    const body = new PassThrough();
    let wanted = false;
    const slow: SlowBody[] = [];
    const floor = watchBodyRate(body, { minBytesPerSecond: 1000, windowMs: WINDOW_MS, contended: () => wanted }, (s) =>
      slow.push(s),
    );
    body.on('data', () => undefined);
    for (let i = 0; i < 25; i++) {
      floor.count(20); // 200 bytes/s, far below the floor, for 2.5 windows
      await sleep(100);
    }
    expect(slow).toEqual([]);
    wanted = true;
    await sleep(0.3 * WINDOW_MS);
    expect(slow).toHaveLength(1);
    expect(slow[0]!.bytesPerSecond).toBeLessThan(1000);
    floor.stop();
  });

  it('stops judging once the body has ended', async () => {
    const body = new PassThrough();
    let calls = 0;
    watchBodyRate(body, { minBytesPerSecond: 1000, windowMs: WINDOW_MS }, () => calls++);
    body.resume();
    body.end();
    await sleep(1.5 * WINDOW_MS);
    expect(calls).toBe(0);
  });
});
