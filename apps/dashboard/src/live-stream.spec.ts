import { TrainyardApiError } from '@trainyard/client/browser';
import { keepFollowing } from './live-stream';

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('keepFollowing', () => {
  it('opens a dropped stream again after the wait, saying so, until it answers that it is done', async () => {
    const signals: AbortSignal[] = [];
    let reconnects = 0;
    keepFollowing(
      async (signal) => {
        signals.push(signal);
        if (signals.length < 3) throw new TypeError('network error');
        return true;
      },
      () => reconnects++,
      10,
    );
    await settle(100);
    expect(signals).toHaveLength(3);
    expect(reconnects).toBe(2);
  });

  it('stops at a 404: what it follows is gone, and asking again would only answer the same', async () => {
    let opened = 0;
    let reconnects = 0;
    keepFollowing(
      async () => {
        opened++;
        throw new TrainyardApiError('GET', '/v1/runs/x/events', 404, { detail: 'Run x not found' });
      },
      () => reconnects++,
      10,
    );
    await settle(100);
    expect(opened).toBe(1);
    expect(reconnects).toBe(0);
  });

  it('opens it again when the server ends it without saying it is done', async () => {
    let opened = 0;
    const stream = keepFollowing(
      async () => (opened++, false),
      () => undefined,
      10,
    );
    await settle(100);
    stream.close();
    const seen = opened;
    expect(seen).toBeGreaterThan(2);
    await settle(50);
    expect(opened).toBe(seen);
  });

  it('stops for good when closed: the stream is aborted and not opened again', async () => {
    let signal: AbortSignal | undefined;
    let opened = 0;
    let reconnects = 0;
    const stream = keepFollowing(
      (s) => {
        signal = s;
        opened++;
        return new Promise<boolean>((_, reject) => s.addEventListener('abort', () => reject(s.reason)));
      },
      () => reconnects++,
      10,
    );
    await settle(20);
    stream.close();
    await settle(50);
    expect(signal?.aborted).toBe(true);
    expect({ opened, reconnects }).toEqual({ opened: 1, reconnects: 0 });
  });
});
