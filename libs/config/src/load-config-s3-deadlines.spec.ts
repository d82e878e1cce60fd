import { S3_CONNECT_TIMEOUT_DEFAULT_MS, S3_REQUEST_TIMEOUT_DEFAULT_MS } from './config.schema';
import { loadConfig } from './load-config';

const s3 = {
  S3_ENDPOINT: 'http://127.0.0.1:9000',
  S3_ACCESS_KEY: 'trainyard',
  S3_SECRET_KEY: 'a-secret-of-some-length',
};

describe('loadConfig: S3 deadlines', () => {
  it('bounds every S3 connect and every S3 request without progress, 10 s and 60 s unless set', () => {
    expect([S3_CONNECT_TIMEOUT_DEFAULT_MS, S3_REQUEST_TIMEOUT_DEFAULT_MS]).toEqual([10_000, 60_000]);
    expect(loadConfig(s3).storage).toMatchObject({ connectTimeoutMs: 10_000, requestTimeoutMs: 60_000 });
    const set = loadConfig({ ...s3, S3_CONNECT_TIMEOUT_MS: '2500', S3_REQUEST_TIMEOUT_MS: '300000' });
    expect(set.storage).toMatchObject({ driver: 's3', connectTimeoutMs: 2500, requestTimeoutMs: 300_000 });
  });

  it('refuses deadlines that are not a sensible number of milliseconds', () => {
    expect(() => loadConfig({ ...s3, S3_CONNECT_TIMEOUT_MS: '0' })).toThrow(/S3_CONNECT_TIMEOUT_MS/);
    expect(() => loadConfig({ ...s3, S3_REQUEST_TIMEOUT_MS: 'a minute' })).toThrow(/S3_REQUEST_TIMEOUT_MS/);
  });
});
