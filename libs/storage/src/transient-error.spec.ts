import { S3Error } from 'minio';
import { isTransientStorageError, withStorageRetry } from './transient-error';
import { parseS3Endpoint } from './s3-object-store';
import { StoreFullError } from './store-full.error';

function s3Error(code: string): Error {
  const e = new S3Error('x');
  (e as Error & { code: string }).code = code;
  return e;
}

describe('isTransientStorageError', () => {
  it.each(['SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeout', ''])('retries S3 code %j', (code) => {
    expect(isTransientStorageError(s3Error(code))).toBe(true);
  });
  it.each(['AccessDenied', 'NoSuchKey', 'NoSuchBucket', 'InvalidArgument', 'SignatureDoesNotMatch', 'NotFound'])(
    'does not retry S3 code %j',
    (code) => expect(isTransientStorageError(s3Error(code))).toBe(false),
  );
  it('retries network errors, not programming errors', () => {
    expect(isTransientStorageError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransientStorageError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransientStorageError(new TypeError('bad'))).toBe(false);
    expect(isTransientStorageError(undefined)).toBe(false);
  });
  it('waits for room on a local store whose disk is full, not for a raw ENOSPC from elsewhere', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(isTransientStorageError(new StoreFullError('runs/r/x.bin', '/objects/runs/r/x.bin', 'ENOSPC', enospc))).toBe(
      true,
    );
    expect(isTransientStorageError(enospc)).toBe(false);
  });
});

describe('withStorageRetry', () => {
  const fast = { attempts: 4, initialDelayMs: 1, maxDelayMs: 2 };
  it('retries transient failures until success', async () => {
    let calls = 0;
    const result = await withStorageRetry(async () => {
      if (++calls < 3) throw s3Error('SlowDown');
      return 'ok';
    }, fast);
    expect([result, calls]).toEqual(['ok', 3]);
  });
  it('gives up at once on a 4xx', async () => {
    let calls = 0;
    await expect(
      withStorageRetry(async () => {
        calls++;
        throw s3Error('AccessDenied');
      }, fast),
    ).rejects.toThrow();
    expect(calls).toBe(1);
  });
});

describe('parseS3Endpoint', () => {
  it('splits a URL into the pieces minio wants', () => {
    expect(parseS3Endpoint('http://127.0.0.1:9000')).toEqual({ endPoint: '127.0.0.1', port: 9000, useSSL: false });
    expect(parseS3Endpoint('https://s3.example.com')).toEqual({ endPoint: 's3.example.com', port: 443, useSSL: true });
    expect(parseS3Endpoint('http://minio/')).toEqual({ endPoint: 'minio', port: 80, useSSL: false });
    expect(parseS3Endpoint('http://[::1]:9000')).toEqual({ endPoint: '::1', port: 9000, useSSL: false });
  });
  it('rejects what is not an endpoint', () => {
    expect(() => parseS3Endpoint('minio:9000')).toThrow(/http or https/);
    expect(() => parseS3Endpoint('not a url')).toThrow(/not a URL/);
    expect(() => parseS3Endpoint('http://minio:9000/bucket')).toThrow(/must not have a path/);
  });
});
