import { projectKey, requestAs } from '../testing/keyed-requests';
import { startTestApi, type TestApi } from '../testing/test-api';

/**
 * Who reads `GET /metrics`: it holds every project's runs and limits and the fleet's totals, so
 * with a key it takes an operator's (a key without a project; `read` is enough) and answers a
 * project's key, its admin key too, as the other operator-only routes do; with METRICS_PUBLIC=true
 * anyone who reaches the port reads it, as the operator chose.
 */
describe('who reads /metrics (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
    const limits = await requestAs(api, api.adminKey, 'PATCH', '/v1/projects/alpha/limits', { maxRunning: 3 });
    expect(limits.status).toBe(200);
  });
  afterAll(() => api?.stop());

  it("refuses a project's key as operator-only routes do, and serves an operator's read key", async () => {
    for (const scopes of [['read'], ['admin']]) {
      const key = await projectKey(api, 'beta', scopes);
      const metrics = await requestAs(api, key, 'GET', '/metrics');
      // Answered as GET /v1/projects/limits answers it (that one also needs `admin`).
      const limits = await requestAs(api, key, 'GET', '/v1/projects/limits');
      expect({ scopes, status: metrics.status }).toEqual({ scopes, status: 403 });
      expect(metrics.body).toMatchObject({
        errors: [{ field: 'Authorization', message: expect.stringMatching(/project beta/) }],
      });
      expect(metrics.text).not.toMatch(/trainyard_|alpha/);
      if (scopes[0] === 'admin') expect(limits.body.errors).toEqual(metrics.body.errors);
    }

    const operator = await requestAs(api, api.adminKey, 'POST', '/v1/keys', { name: 'scraper', scopes: ['read'] });
    expect(operator.status).toBe(201);
    const scraped = await requestAs(api, operator.body.token as string, 'GET', '/metrics');
    expect(scraped.status).toBe(200);
    expect(scraped.text).toMatch(/^trainyard_project_max_running\{project="alpha"\} 3$/m);
    expect((await fetch(`${api.baseUrl}/metrics`)).status).toBe(401);
  });

  it('serves anyone with METRICS_PUBLIC=true, a project key included', async () => {
    const open = await startTestApi({ env: { METRICS_PUBLIC: 'true' } });
    try {
      const anonymous = await fetch(`${open.baseUrl}/metrics`);
      expect(anonymous.status).toBe(200);
      expect(await anonymous.text()).toMatch(/^trainyard_runs\{/m);
      expect((await requestAs(open, await projectKey(open, 'beta', ['read']), 'GET', '/metrics')).status).toBe(200);
    } finally {
      await open.stop();
    }
  });
});
