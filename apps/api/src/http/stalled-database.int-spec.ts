import type { FreezableProxy } from '@trainyard/db/testing';
import { KEY_CACHE_TTL_MS } from '../auth/api-key.authenticator';
import type { TestApi } from '../testing/test-api';
import { startTestApiBehindProxy } from '../testing/test-api-behind-proxy';
import { timedRequest } from '../testing/timed-request';

const QUERY_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 800;
/** What a request may take while PostgreSQL is silent: the query deadline, pg's grace, and slack for a loaded machine. */
const ANSWERED_WITHIN_MS = QUERY_TIMEOUT_MS + 2000 + 3000;

/**
 * A PostgreSQL that stops answering (a proxy in front of the real server stops forwarding, as a
 * stalled server or a partition without a reset would): every request that needs it answers 503
 * naming the database within the deadlines (DATABASE_QUERY_TIMEOUT_MS, DATABASE_CONNECT_TIMEOUT_MS)
 * instead of hanging, liveness stays up, and once the server answers again so does the API,
 * without a restart. Every request is bounded by its own timeout, so a hang fails here.
 */
describe('API with a PostgreSQL that stops answering', () => {
  let proxy: FreezableProxy;
  let api: TestApi;

  beforeAll(async () => {
    ({ api, proxy } = await startTestApiBehindProxy({
      DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      REDIS_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    }));
  });

  afterAll(async () => {
    proxy?.thaw();
    proxy?.back();
    await api?.stop();
    await proxy?.close();
  });

  const timed = (method: string, path: string, body?: unknown) =>
    timedRequest(api, 3 * ANSWERED_WITHIN_MS, method, path, body);

  const pretrain = (name: string) => ({ kind: 'pretrain', name, dataset: { name: 'synthetic-shapes' } });

  it('answers 503 naming the database within the deadlines, and everything again once it answers', async () => {
    const before = await timed('POST', '/v1/runs', pretrain('before the stall'));
    expect(before).toMatchObject({ status: 201, body: { status: 'QUEUED' } });
    const id = before.body['id'] as string;

    proxy.freeze();
    try {
      // More at once than the pool has connections: some wait for a turn, some hold a silent one.
      const requests = [
        ...Array.from({ length: 6 }, () => timed('GET', `/v1/runs/${id}`)),
        ...Array.from({ length: 6 }, () => timed('GET', '/v1/runs?limit=5')),
        timed('POST', '/v1/runs', pretrain('during the stall')),
        timed('POST', `/v1/runs/${id}/cancel`),
      ];
      for (const answer of await Promise.all(requests)) {
        expect(answer).toMatchObject({ status: 503, body: { message: expect.stringMatching(/database/i) } });
        expect(answer.ms).toBeLessThan(ANSWERED_WITHIN_MS);
      }
      const ready = await timed('GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.ms).toBeLessThan(ANSWERED_WITHIN_MS);
      const live = await timed('GET', '/healthz');
      expect(live).toMatchObject({ status: 200 });
      expect(live.ms).toBeLessThan(ANSWERED_WITHIN_MS);
    } finally {
      proxy.thaw();
    }

    // Reads answer again. A write that timed out may still land once the server reads it (as
    // with any lost reply), so the cancel may have taken effect; a retry would be answered alike.
    const after = await timed('GET', `/v1/runs/${id}`);
    expect(after.status).toBe(200);
    expect(['QUEUED', 'CANCELLED']).toContain(after.body['status']);
    expect(await timed('POST', '/v1/runs', pretrain('after the stall'))).toMatchObject({ status: 201 });
    expect((await timed('GET', '/readyz')).status).toBe(200);
  });

  it("leaves the database's gauges out of a scrape while it is silent, rather than serving their last values", async () => {
    const scrape = async () => {
      const res = await api.fetch(`${api.baseUrl}/metrics`, { signal: AbortSignal.timeout(3 * ANSWERED_WITHIN_MS) });
      expect(res.status).toBe(200);
      const text = await res.text();
      return (name: string) => text.split('\n').filter((line) => line.startsWith(`${name}{`)).length;
    };
    const before = await scrape();
    expect(before('trainyard_runs')).toBeGreaterThan(0);
    expect(before('trainyard_workers')).toBeGreaterThan(0);
    expect(before('trainyard_runs_waiting')).toBeGreaterThan(0);
    // Prometheus scrapes every 15–60 s, past the key's 5 s proof: the next scrape's key is asked of
    // the silent database (before AUTH_OUTAGE_GRACE_MS, that made every scrape of an outage a 503).
    await new Promise((resolve) => setTimeout(resolve, KEY_CACHE_TTL_MS + 200));
    proxy.freeze();
    try {
      const during = await scrape();
      for (const gauge of ['trainyard_runs', 'trainyard_workers', 'trainyard_runs_waiting'])
        expect({ gauge, series: during(gauge) }).toEqual({ gauge, series: 0 });
      expect(during('trainyard_queue_jobs')).toBeGreaterThan(0); // Redis answers: its gauges stay
    } finally {
      proxy.thaw();
    }
    expect((await scrape())('trainyard_runs')).toBeGreaterThan(0);
  });

  it('refuses with 503 a key this process has never proven while the database is silent', async () => {
    const created = await timed('POST', '/v1/keys', { name: 'never used here', scopes: ['read'] });
    expect(created.status).toBe(201);
    const token = created.body['token'] as string;
    proxy.freeze();
    try {
      const answer = await timedRequest(api, 3 * ANSWERED_WITHIN_MS, 'GET', '/metrics', undefined, {
        authorization: `Bearer ${token}`,
      });
      expect(answer).toMatchObject({ status: 503, body: { message: expect.stringMatching(/database/i) } });
      // A request with a body has its key checked before the body is read (authenticate-early.ts): the same 503.
      const withBody = await timedRequest(api, 3 * ANSWERED_WITHIN_MS, 'POST', '/v1/runs', pretrain('unproven'), {
        authorization: `Bearer ${token}`,
      });
      expect(withBody).toMatchObject({ status: 503, body: { message: expect.stringMatching(/database/i) } });
    } finally {
      proxy.thaw();
    }
  });

  it('answers 503, not 500, while PostgreSQL restarts (57P03 to every new connection), and 200 after', async () => {
    proxy.restart();
    try {
      const answers = await Promise.all([
        timed('GET', '/v1/runs?limit=1'),
        timed('POST', '/v1/runs', pretrain('during the restart')),
      ]);
      for (const answer of answers)
        expect(answer).toMatchObject({ status: 503, body: { message: expect.stringMatching(/database/i) } });
    } finally {
      proxy.back();
    }
    expect((await timed('GET', '/v1/runs?limit=1')).status).toBe(200);
  });
});
