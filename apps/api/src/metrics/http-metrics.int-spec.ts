import { randomUUID } from 'node:crypto';
import { projectKey, requestAs } from '../testing/keyed-requests';
import { startTestApi, type TestApi } from '../testing/test-api';
import { tinySpecs } from '../testing/tiny-specs';

const COUNT = 'trainyard_http_request_duration_seconds_count';

/**
 * `trainyard_http_request_duration_seconds` over real HTTP: every request counted once, with the
 * status the client got — refusals by the guards (which run before any interceptor) and domain
 * errors the exception filter maps included — and a bounded route label.
 */
describe('HTTP request metric (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  const { pretrain, finetune, encoder } = tinySpecs();

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  const scrape = async () => {
    const res = await api.fetch(`${api.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };

  /** Observations by `METHOD route status`, the scrapes of /metrics themselves left out. */
  const observations = (text: string): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${COUNT}{`)) continue;
      const labels = Object.fromEntries(
        [...line.slice(COUNT.length, line.lastIndexOf('}') + 1).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
      );
      if (labels['route'] === '/metrics') continue;
      counts.set(`${labels['method']} ${labels['route']} ${labels['status_code']}`, Number(line.split(' ').pop()));
    }
    return counts;
  };

  /** What was counted since `before`, once `total` observations have landed (a request is counted as its answer ends). */
  const countedSince = async (before: Map<string, number>, total: number): Promise<Record<string, number>> => {
    const since = (text: string) => {
      const added: Record<string, number> = {};
      for (const [key, n] of observations(text))
        if (n !== (before.get(key) ?? 0)) added[key] = n - (before.get(key) ?? 0);
      return added;
    };
    const sum = (added: Record<string, number>) => Object.values(added).reduce((a, b) => a + b, 0);
    const deadline = Date.now() + 5000;
    while (sum(since(await scrape())) < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // A little longer: a second observation of any request would land now.
    await new Promise((r) => setTimeout(r, 300));
    return since(await scrape());
  };

  it('counts each request once with the status sent: 201, a mapped 422, 401s, a 403, a guard’s 404, unknown paths', async () => {
    const teamB = await projectKey(api, 'team-b');
    const readOnly = await projectKey(api, 'team-b', ['read']);
    const before = observations(await scrape());

    // 201, and a run of another project (the admin's: `default`).
    const base = await requestAs(api, api.adminKey, 'POST', '/v1/runs', pretrain('base'));
    expect(base.status).toBe(201);
    // Building on another project's run: a domain error (not an HttpException) the filter answers 422.
    const refused = await requestAs(
      api,
      teamB,
      'POST',
      '/v1/runs',
      finetune('steal', { model: { type: 'classifier', baseRunId: base.body.id, ...encoder } }),
    );
    expect(refused.status).toBe(422);
    // The key guard: none, then a wrong one.
    expect((await fetch(`${api.baseUrl}/v1/runs`)).status).toBe(401);
    expect((await requestAs(api, 'ty_wrong_key_0000000000000000', 'GET', '/v1/runs')).status).toBe(401);
    // A key without the submit scope.
    expect((await requestAs(api, readOnly, 'POST', '/v1/runs', pretrain('not allowed'))).status).toBe(403);
    // The project guard: another project's run answers as an unknown one.
    expect((await requestAs(api, teamB, 'GET', `/v1/runs/${base.body.id}`)).status).toBe(404);
    // No route at all: one label, whatever the path.
    const unknown = [`/v1/no-such-thing/${randomUUID()}`, `/v1/runs/${randomUUID()}/no-such-view`];
    for (const path of unknown) expect((await requestAs(api, api.adminKey, 'GET', path)).status).toBe(404);

    expect(await countedSince(before, 8)).toEqual({
      'POST /v1/runs 201': 1,
      'POST /v1/runs 422': 1,
      'GET /v1/runs 401': 2,
      'POST /v1/runs 403': 1,
      'GET /v1/runs/:id 404': 1,
      'GET unmatched 404': 2,
    });
    const text = await scrape();
    for (const path of unknown) expect(text).not.toContain(path);
    expect(text).not.toContain('status_code="500"');
  });

  it("labels what the body parser refuses before routing (400, 413) by the route it was for, not 'unmatched'", async () => {
    const before = observations(await scrape());
    const post = (body: string) =>
      api.fetch(`${api.baseUrl}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect((await post('{"kind": "pretrain",')).status).toBe(400);
    expect((await post(JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }))).status).toBe(413);
    const run = await requestAs(api, api.adminKey, 'POST', '/v1/runs', pretrain('labelled'));
    expect(run.status).toBe(201);
    const malformed = await api.fetch(`${api.baseUrl}/v1/runs/${run.body.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"tags": [',
    });
    expect(malformed.status).toBe(400);
    // A path the router cannot decode is answered and counted, never taken for a route (nor a crash).
    const undecodable = await requestAs(api, api.adminKey, 'GET', '/v1/runs/%E0%A4%A');
    expect(undecodable.status).toBe(400);
    expect((await fetch(`${api.baseUrl}/healthz`)).status).toBe(200);
    expect(await countedSince(before, 6)).toEqual({
      'GET unmatched 400': 1,
      'GET /healthz 200': 1,
      'POST /v1/runs 400': 1,
      'POST /v1/runs 413': 1,
      'POST /v1/runs 201': 1,
      'PATCH /v1/runs/:id 400': 1,
    });
  });

  it('times an event stream to its opening, not to how long the viewer stayed', async () => {
    const run = await requestAs(api, api.adminKey, 'POST', '/v1/runs', pretrain('watched'));
    expect(run.status).toBe(201);
    const SUM = 'trainyard_http_request_duration_seconds_sum';
    const eventsSum = (text: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${SUM}{`) && l.includes('route="/v1/runs/:id/events"'))
          ?.split(' ')
          .pop() ?? 0,
      );
    const before = eventsSum(await scrape());
    const controller = new AbortController();
    const stream = await api.fetch(`${api.baseUrl}/v1/runs/${run.body.id}/events`, { signal: controller.signal });
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    await new Promise((r) => setTimeout(r, 1500));
    controller.abort();
    let after = before;
    for (let i = 0; i < 40 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = eventsSum(await scrape());
    }
    // Open for 1.5 s, recorded as the moment its headers went out.
    expect(after).toBeGreaterThan(before);
    expect(after - before).toBeLessThan(1);
  });
});
