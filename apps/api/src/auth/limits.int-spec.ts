/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies of many shapes; the assertions check them */
import { request } from 'node:http';
import { createApiApp } from '../create-api-app';
import type { Database } from '@trainyard/db';
import { startTestApi, type TestApi } from '../testing/test-api';
import { DATABASE } from '@trainyard/infrastructure';

const mnistRun = (epochs = 1) => ({
  kind: 'pretrain',
  name: 'limits',
  dataset: { name: 'mnist', testPerClass: 10, limit: 200 },
  model: { type: 'conv-autoencoder' },
  training: { epochs },
});
const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** A key with read and submit, made through the API with its admin key. */
async function newKey(api: TestApi): Promise<string> {
  return (
    (await (
      await api.fetch(`${api.baseUrl}/v1/keys`, json({ name: 'limited', scopes: ['read', 'submit'] }))
    ).json()) as { token: string }
  ).token;
}

describe('rate limit per key, shared by replicas (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ env: { RATE_LIMIT_PER_MINUTE: '6' } });
  });
  afterAll(() => api?.stop());

  it('answers 429 with Retry-After once a key has spent its minute, counting requests on every replica', async () => {
    const key = await newKey(api);
    const second = await createApiApp(api.config, {
      queueName: api.queueName,
      logger: false,
      shutdownHooks: false,
      openApi: false,
    });
    await second.listen(0, '127.0.0.1');
    try {
      const urls = [api.baseUrl, await second.getUrl()];
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++)
        statuses.push(
          (await fetch(`${urls[i % 2]}/v1/whoami`, { headers: { authorization: `Bearer ${key}` } })).status,
        );
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
      const limited = await fetch(`${urls[1]}/v1/whoami`, { headers: { authorization: `Bearer ${key}` } });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      // Another key has its own budget.
      expect(
        (await fetch(`${urls[0]}/v1/whoami`, { headers: { authorization: `Bearer ${await newKey(api)}` } })).status,
      ).toBe(200);
    } finally {
      await second.close();
    }
  });
});

describe('client addresses behind a proxy (PostgreSQL, Redis, HTTP)', () => {
  const wrongKey = (forwardedFor: string) => ({
    headers: { authorization: `Bearer ty_${'x'.repeat(43)}`, 'x-forwarded-for': forwardedFor },
  });

  it('counts X-Forwarded-For clients apart only when API_TRUST_PROXY names the hop in front', async () => {
    for (const [trustProxy, apart] of [
      ['loopback', true],
      [undefined, false],
    ] as const) {
      const api = await startTestApi({
        env: { RATE_LIMIT_PER_MINUTE: '2', ...(trustProxy ? { API_TRUST_PROXY: trustProxy } : {}) },
      });
      try {
        const statuses = async (client: string) => [
          (await fetch(`${api.baseUrl}/v1/whoami`, wrongKey(client))).status,
          (await fetch(`${api.baseUrl}/v1/whoami`, wrongKey(client))).status,
        ];
        // Addresses of the documentation ranges, new on every run (a budget lives a minute in Redis).
        const octet = () => 1 + Math.floor(Math.random() * 254);
        expect(await statuses(`203.0.113.${octet()}`)).toEqual([401, 401]);
        // The second client has its own budget behind a trusted proxy; otherwise the header is ignored.
        expect(await statuses(`198.51.100.${octet()}`)).toEqual(apart ? [401, 401] : [429, 429]);
      } finally {
        await api.stop();
      }
    }
  });
});

describe('quotas and live streams (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  const runCount = () => api.app.get<Database>(DATABASE).prisma.run.count();
  beforeAll(async () => {
    api = await startTestApi({ env: { QUOTA_QUEUED_RUNS: '2', QUOTA_REQUEST_IMAGES: '1000', SSE_MAX_PER_KEY: '1' } });
  });
  afterAll(() => api?.stop());

  it('refuses a request asking for more training than QUOTA_REQUEST_IMAGES with 422 naming the field, writing nothing', async () => {
    const key = await newKey(api);
    const before = await runCount();
    const res = await fetch(`${api.baseUrl}/v1/runs`, json(mnistRun(6), { authorization: `Bearer ${key}` }));
    expect(res.status).toBe(422);
    const body = (await res.json()) as any;
    expect(body.errors[0].field).toBe('training.epochs');
    expect(body.errors[0].message).toMatch(/1,200 images.*limit is 1,000/);
    // A budget in steps counts steps × batch size (a missing epochs field must not skip the quota).
    const steps = { ...mnistRun(), training: { steps: 40, batchSize: 32 } };
    const bySteps = await fetch(`${api.baseUrl}/v1/runs`, json(steps, { authorization: `Bearer ${key}` }));
    expect(bySteps.status).toBe(422);
    const stepsBody = (await bySteps.json()) as any;
    expect(stepsBody.errors[0]).toMatchObject({
      field: 'training.steps',
      message: expect.stringMatching(/1,280 images.*limit is 1,000/),
    });
    expect(await runCount()).toBe(before);
  });

  it('holds a project to QUOTA_QUEUED_RUNS waiting runs (429), and lets a live stream open once per key at a time', async () => {
    const key = await newKey(api);
    const auth = { authorization: `Bearer ${key}` };
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${api.baseUrl}/v1/runs`, json(mnistRun(), auth));
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as any).id);
    }
    // A retried request is answered from its key before the quota is counted: its own run must not refuse it.
    const keyed = (idempotencyKey: string) => json(mnistRun(), { ...auth, 'idempotency-key': idempotencyKey });
    await fetch(`${api.baseUrl}/v1/runs/${ids[1]}/cancel`, { method: 'POST', headers: auth });
    const first = await fetch(`${api.baseUrl}/v1/runs`, keyed('retry-me'));
    expect(first.status).toBe(201);
    const replay = await fetch(`${api.baseUrl}/v1/runs`, keyed('retry-me'));
    expect([replay.status, ((await replay.json()) as any).id]).toEqual([201, ((await first.json()) as any).id]);
    const before = await runCount();
    const third = await fetch(`${api.baseUrl}/v1/runs`, json(mnistRun(), auth));
    expect(third.status).toBe(429);
    expect(((await third.json()) as any).errors[0].field).toBe('project');
    expect(await runCount()).toBe(before);

    const sse = new AbortController();
    const open = await fetch(`${api.baseUrl}/v1/runs/${ids[0]}/events`, { headers: auth, signal: sse.signal });
    expect(open.status).toBe(200);
    await open.body!.getReader().read(); // the status snapshot: the stream is live
    expect((await fetch(`${api.baseUrl}/v1/runs/${ids[0]}/events`, { headers: auth })).status).toBe(429);
    sse.abort();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const again = new AbortController();
    expect(
      (await fetch(`${api.baseUrl}/v1/runs/${ids[0]}/events`, { headers: auth, signal: again.signal })).status,
    ).toBe(200);
    again.abort();

    // Cancelling frees the project's queue: submitting works again.
    await fetch(`${api.baseUrl}/v1/runs/${ids[0]}/cancel`, { method: 'POST', headers: auth });
    expect((await fetch(`${api.baseUrl}/v1/runs`, json(mnistRun(), auth))).status).toBe(201);
  });

  it('counts every run a pipeline records against the quota, its held fine-tunes and evaluations included', async () => {
    const made = await api.fetch(
      `${api.baseUrl}/v1/keys`,
      json({ name: 'pipelines', scopes: ['read', 'submit'], project: 'pipes' }),
    );
    const auth = { authorization: `Bearer ${((await made.json()) as any).token}` };
    const shapes = { name: 'synthetic-shapes', imageSize: 16, perClass: 4 };
    const encoder = { inputShape: [16, 16, 1], filters: [4], latentDim: 8 };
    const pipeline = (evaluations: unknown[]) => ({
      name: 'counted',
      pretrain: { name: 'ae', dataset: shapes, model: { type: 'conv-autoencoder', ...encoder } },
      finetunes: [{ name: 'ft', dataset: shapes, model: { type: 'classifier', ...encoder } }],
      evaluations,
    });
    const before = await runCount();
    // A pretrain, a fine-tune and its evaluation: 3 runs waiting, over the quota of 2.
    const over = await fetch(`${api.baseUrl}/v1/pipelines`, json(pipeline([{ split: 'test' }]), auth));
    expect(over.status).toBe(429);
    expect(((await over.json()) as any).message).toContain('3 more would pass its quota of 2');
    expect(await runCount()).toBe(before);
    expect((await fetch(`${api.baseUrl}/v1/pipelines`, json(pipeline([]), auth))).status).toBe(201);
    expect(await runCount()).toBe(before + 2);
  });
});

describe('transport: JSON only, Host names, CORS and security headers', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ env: { API_ALLOWED_HOSTS: 'trainyard.internal' } });
  });
  afterAll(() => api?.stop());

  it('refuses a cross-site HTML form post (urlencoded, text/plain, multipart) with 415 and writes nothing', async () => {
    const count = () => api.app.get<Database>(DATABASE).prisma.run.count();
    const before = await count();
    for (const [type, body] of [
      ['application/x-www-form-urlencoded', 'kind=pretrain&name=x'],
      ['text/plain', JSON.stringify(mnistRun())],
      [
        'multipart/form-data; boundary=x',
        '--x\r\nContent-Disposition: form-data; name="kind"\r\n\r\npretrain\r\n--x--',
      ],
    ]) {
      const res = await api.fetch(`${api.baseUrl}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': type!, origin: 'https://evil.example' },
        body,
      });
      expect({ type, status: res.status }).toEqual({ type, status: 415 });
      expect(((await res.json()) as any).errors[0].field).toBe('Content-Type');
    }
    expect(await count()).toBe(before);
  });

  it('answers only to its own Host names (DNS rebinding), except liveness and readiness', async () => {
    // fetch() will not send another Host than the URL's: node:http will.
    const { port } = new URL(api.baseUrl);
    const as = (host: string, path = '/v1/runs') =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, path, headers: { host, authorization: `Bearer ${api.adminKey}` } },
          (res) => {
            res.resume();
            resolve(res.statusCode!);
          },
        );
        req.on('error', reject);
        req.end();
      });
    expect(await as('evil.example')).toBe(421);
    expect(await as('evil.example:3000')).toBe(421);
    expect(await as('trainyard.internal')).toBe(200);
    expect(await as('localhost:3000')).toBe(200);
    expect(await as('evil.example', '/healthz')).toBe(200);
  });

  it('sends no CORS grant to other origins, and security headers with a CSP that allows only its own scripts', async () => {
    const res = await api.fetch(`${api.baseUrl}/v1/runs`, { headers: { origin: 'https://evil.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const page = await fetch(`${api.baseUrl}/`);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-powered-by')).toBeNull();
  });
});

describe('CORS when configured', () => {
  it('grants only the listed origins', async () => {
    const api = await startTestApi({ env: { API_CORS_ORIGINS: 'https://dash.example' } });
    try {
      const allowed = await api.fetch(`${api.baseUrl}/v1/runs`, { headers: { origin: 'https://dash.example' } });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://dash.example');
      const other = await api.fetch(`${api.baseUrl}/v1/runs`, { headers: { origin: 'https://evil.example' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await api.stop();
    }
  });
});
