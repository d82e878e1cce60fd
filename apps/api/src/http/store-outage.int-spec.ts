import { startS3TestServer, type S3TestServer } from '@trainyard/storage/testing';
import { startTestApi, type TestApi } from '../testing/test-api';

/**
 * What lives in the object store (a run's log) while the store is down: a 503 saying so, which a
 * client retries, not a 500 that reads as a bug in the API; and the same route once it is back.
 */
describe('routes that read the object store, while it is down (PostgreSQL, Redis, S3 server, HTTP)', () => {
  let s3: S3TestServer;
  let api: TestApi;

  beforeAll(async () => {
    s3 = await startS3TestServer();
    api = await startTestApi({ env: s3.env() });
  });
  afterAll(async () => {
    await api?.stop();
    await s3?.stop();
  });

  it("answers a run's log 503 naming the store while it is down, and the log once it is back", async () => {
    const runId = await api.submitPretrain('logged');
    await s3.down();
    try {
      const res = await api.fetch(`${api.baseUrl}/v1/runs/${runId}/logs`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { message: string };
      expect(body.message).toBe('The object store is unreachable or not answering; try again shortly');
      expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
    } finally {
      await s3.up();
    }
    expect((await api.fetch(`${api.baseUrl}/v1/runs/${runId}/logs`)).status).toBe(200);
  }, 60_000);
});
