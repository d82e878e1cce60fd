import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { HttpException } from '@nestjs/common';
import { loadConfig } from '@trainyard/config';
import { DatasetUploadLimiter, UPLOAD_RETRY_AFTER_S } from './dataset-upload.limiter';

/** What the limiter uses of an answer: its headers and its `close`. */
class FakeResponse extends EventEmitter {
  readonly headers: Record<string, string> = {};
  setHeader(name: string, value: string): void {
    this.headers[name] = value;
  }
}

const limiterWith = (env: Record<string, string>) =>
  new DatasetUploadLimiter(loadConfig({ TRAINYARD_HOME: '/tmp/trainyard-limiter-spec', ...env }));

function refusal(take: () => unknown): { status: number; message: string } {
  try {
    take();
  } catch (error) {
    const e = error as HttpException;
    return { status: e.getStatus(), message: (e.getResponse() as { message: string }).message };
  }
  throw new Error('expected a refusal');
}

describe('DatasetUploadLimiter', () => {
  it('holds a key to DATASET_UPLOAD_MAX_PER_KEY (2) and the process to DATASET_UPLOAD_MAX_PER_PROCESS (4) by default', () => {
    const limiter = limiterWith({});
    const res = () => new FakeResponse() as unknown as ServerResponse;
    limiter.acquire('a', null, res());
    limiter.acquire('a', null, res());
    const refused = new FakeResponse();
    expect(refusal(() => limiter.acquire('a', null, refused as unknown as ServerResponse))).toEqual({
      status: 429,
      message: expect.stringContaining('this key has 2 open (DATASET_UPLOAD_MAX_PER_KEY=2)'),
    });
    expect(refused.headers).toEqual({ 'retry-after': String(UPLOAD_RETRY_AFTER_S) });
    limiter.acquire('b', null, res());
    limiter.acquire('c', null, res());
    expect(refusal(() => limiter.acquire('d', null, res()))).toEqual({
      status: 429,
      message: expect.stringContaining('this server has 4 open (DATASET_UPLOAD_MAX_PER_PROCESS=4)'),
    });
    expect(limiter.openUploads).toBe(4);
  });

  it("holds a project's keys together to DATASET_UPLOAD_MAX_PER_PROJECT (half the process's by default), not an operator's", () => {
    const limiter = limiterWith({});
    const res = () => new FakeResponse() as unknown as ServerResponse;
    const releaseA1 = limiter.acquire('a1', 'vision', res());
    limiter.acquire('a2', 'vision', res());
    expect(refusal(() => limiter.acquire('a3', 'vision', res()))).toEqual({
      status: 429,
      message: expect.stringContaining('project vision has 2 open (DATASET_UPLOAD_MAX_PER_PROJECT=2)'),
    });
    // Another project, and an operator's key, still find places.
    limiter.acquire('b1', 'audio', res());
    limiter.acquire('op', null, res());
    expect(limiter.openUploads).toBe(4);
    expect(refusal(() => limiter.acquire('c1', 'text', res())).message).toContain('this server has 4 open');
    // A place the project gave back is the project's to take again.
    releaseA1();
    limiter.acquire('a3', 'vision', res());
    expect(limiter.openUploads).toBe(4);
    expect(limiterWith({ DATASET_UPLOAD_MAX_PER_PROCESS: '10' }).acquire('x', 'p', res())).toBeInstanceOf(Function);
  });

  it('gives a place back once, whether released, closed or both', () => {
    const limiter = limiterWith({ DATASET_UPLOAD_MAX_PER_KEY: '1', DATASET_UPLOAD_MAX_PER_PROCESS: '2' });
    const first = new FakeResponse();
    const release = limiter.acquire('a', null, first as unknown as ServerResponse);
    release();
    first.emit('close');
    release();
    expect(limiter.openUploads).toBe(0);
    // The client went away: its answer closed without the handler having released.
    const second = new FakeResponse();
    limiter.acquire('a', null, second as unknown as ServerResponse);
    limiter.acquire('b', null, new FakeResponse() as unknown as ServerResponse);
    second.emit('close');
    expect(limiter.openUploads).toBe(1);
    limiter.acquire('a', null, new FakeResponse() as unknown as ServerResponse);
    expect(limiter.openUploads).toBe(2);
    expect(second.listenerCount('close')).toBe(0);
  });
  it("says an upload's place is wanted after a refusal for the process's places or its project's, not a key's own, and only for the window", () => {
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const limiter = limiterWith({ DATASET_UPLOAD_MAX_PER_PROCESS: '4', DATASET_UPLOAD_MAX_PER_KEY: '1' });
      const res = () => new FakeResponse() as unknown as ServerResponse;
      limiter.acquire('a1', 'vision', res());
      // The key's own bound: that client waits for its own upload, nobody else's.
      refusal(() => limiter.acquire('a1', 'vision', res()));
      expect(limiter.wanted('vision', 1000)).toBe(false);
      // The project's bound (2 of 4): the project's uploads are wanted, another project's not.
      limiter.acquire('a2', 'vision', res());
      refusal(() => limiter.acquire('a3', 'vision', res()));
      expect([limiter.wanted('vision', 1000), limiter.wanted('audio', 1000), limiter.wanted(null, 1000)]).toEqual([
        true,
        false,
        false,
      ]);
      jest.advanceTimersByTime(1001);
      expect(limiter.wanted('vision', 1000)).toBe(false);
      // The process's bound: every upload holds a place someone wants.
      limiter.acquire('b1', 'audio', res());
      limiter.acquire('op', null, res());
      refusal(() => limiter.acquire('op2', null, res()));
      expect([limiter.wanted('vision', 1000), limiter.wanted('audio', 1000), limiter.wanted(null, 1000)]).toEqual([
        true,
        true,
        true,
      ]);
    } finally {
      jest.useRealTimers();
    }
  });
});
