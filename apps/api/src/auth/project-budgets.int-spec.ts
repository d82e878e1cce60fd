import type { Database } from '@trainyard/db';
import { DATABASE } from '@trainyard/infrastructure';
import { createApiApp } from '../create-api-app';
import { projectKey, requestAs } from '../testing/keyed-requests';
import { startTestApi, type TestApi } from '../testing/test-api';

// A project's admin key mints keys, and every per-key budget multiplies with them: the number of
// keys a project holds is capped, and so are the stream places its keys hold together.

describe('live keys per project (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  const liveKeys = (project: string) =>
    api.app.get<Database>(DATABASE).prisma.apiKey.count({ where: { project, revokedAt: null } });
  beforeAll(async () => {
    api = await startTestApi({ env: { API_KEYS_MAX_PER_PROJECT: '3' } });
  });
  afterAll(() => api?.stop());

  it("holds a project to API_KEYS_MAX_PER_PROJECT live keys (409 naming it), whoever makes them; a revoked one frees its place; operators' keys are not counted", async () => {
    const admin = await projectKey(api, 'alpha', ['admin']);
    const mint = (by: string, body: Record<string, unknown> = {}) =>
      requestAs(api, by, 'POST', '/v1/keys', { name: 'minted', scopes: ['read'], ...body });
    const first = await mint(admin);
    expect(first.status).toBe(201);
    expect((await mint(admin)).status).toBe(201);
    const full = await mint(admin);
    expect(full.status).toBe(409);
    expect(full.body.errors[0]).toEqual({
      field: 'project',
      message: 'Project alpha has 3 live API keys, its limit (API_KEYS_MAX_PER_PROJECT=3)',
    });
    expect(full.body.message).toMatch(/revoke one/);
    // An operator making one for the project is held to it too.
    expect((await mint(api.adminKey, { project: 'alpha' })).status).toBe(409);
    expect(await liveKeys('alpha')).toBe(3);

    expect((await requestAs(api, admin, 'DELETE', `/v1/keys/${first.body.key.id}`)).status).toBe(200);
    expect((await mint(admin)).status).toBe(201);
    expect((await mint(admin)).status).toBe(409);

    // Another project has places of its own; keys without a project (an operator's) are not counted.
    expect((await mint(api.adminKey, { project: 'beta' })).status).toBe(201);
    for (let i = 0; i < 4; i++) expect((await mint(api.adminKey)).status).toBe(201);
  });

  it('lets exactly the limit through when creates race, on two replicas at once', async () => {
    const second = await createApiApp(api.config, {
      queueName: api.queueName,
      logger: false,
      shutdownHooks: false,
      openApi: false,
    });
    await second.listen(0, '127.0.0.1');
    try {
      const urls = [api.baseUrl, await second.getUrl()];
      const statuses = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          fetch(`${urls[i % 2]}/v1/keys`, {
            method: 'POST',
            headers: { ...api.authHeaders, 'content-type': 'application/json' },
            body: JSON.stringify({ name: `racer ${i}`, scopes: ['read'], project: 'race' }),
          }).then((res) => res.status),
        ),
      );
      expect(statuses.filter((status) => status === 201)).toHaveLength(3);
      expect(statuses.filter((status) => status === 409)).toHaveLength(9);
      expect(await liveKeys('race')).toBe(3);
    } finally {
      await second.close();
    }
  });
});

describe('live streams per project (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  const open: AbortController[] = [];
  beforeAll(async () => {
    api = await startTestApi({ env: { SSE_MAX_PER_KEY: '2', SSE_MAX_PER_PROJECT: '3', SSE_MAX_PER_PROCESS: '6' } });
  });
  afterAll(async () => {
    for (const stream of open) stream.abort();
    await api?.stop();
  });

  /** Opens the run's event stream as `key`, kept open (until the suite ends) when it is answered 200. */
  const follow = async (key: string, runId: string) => {
    const stream = new AbortController();
    const res = await fetch(`${api.baseUrl}/v1/runs/${runId}/events`, {
      headers: { authorization: `Bearer ${key}` },
      signal: stream.signal,
    });
    if (res.status === 200) {
      open.push(stream);
      return { status: res.status, body: null };
    }
    return { status: res.status, body: (await res.json()) as { message: string } };
  };
  const submit = async (key: string) => {
    const res = await requestAs(api, key, 'POST', '/v1/runs', {
      kind: 'pretrain',
      name: 'watched',
      dataset: { name: 'synthetic-shapes' },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  it("keeps a project's keys to SSE_MAX_PER_PROJECT streams together, so other projects and operators still get places", async () => {
    // Project A holds three keys of two places each: six, the whole process, without the project's limit.
    const a = [await projectKey(api, 'a'), await projectKey(api, 'a'), await projectKey(api, 'a')];
    const b = await projectKey(api, 'b');
    const runOfA = await submit(a[0]!);
    const runOfB = await submit(b);
    const runOfOperator = await api.submitPretrain('operator watched');

    const statusesOfA: number[] = [];
    let refusal: { message: string } | null = null;
    for (const key of a)
      for (let i = 0; i < 2; i++) {
        const res = await follow(key, runOfA);
        statusesOfA.push(res.status);
        refusal = res.body ?? refusal;
      }
    expect(statusesOfA).toEqual([200, 200, 200, 429, 429, 429]);
    expect(refusal?.message).toBe(
      'Too many open streams (live events, followed logs, checkpoint downloads): the keys of project a have 3 open on this server (SSE_MAX_PER_PROJECT=3); close one first',
    );

    // Project B, and the operator, whose key has its own places (within the process's), are not locked out.
    expect((await follow(b, runOfB)).status).toBe(200);
    expect((await follow(api.adminKey, runOfOperator)).status).toBe(200);
    expect((await follow(api.adminKey, runOfOperator)).status).toBe(200);
    // The per-key limit holds as before.
    expect((await follow(api.adminKey, runOfOperator)).body?.message).toMatch(
      /this key has 2 open \(SSE_MAX_PER_KEY=2\)/,
    );

    // A stream of A's that closes gives its place back to the project.
    open.shift()!.abort();
    for (const deadline = Date.now() + 5000; ;) {
      const res = await follow(a[2]!, runOfA);
      if (res.status === 200) break;
      if (Date.now() > deadline) throw new Error(`project a got no place back: ${res.status}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
});

describe('requests per project (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ env: { RATE_LIMIT_PER_MINUTE: '4', RATE_LIMIT_PER_PROJECT_PER_MINUTE: '6' } });
  });
  afterAll(() => api?.stop());

  it("holds a project's keys together to RATE_LIMIT_PER_PROJECT_PER_MINUTE (429 naming it, Retry-After); other projects and operators keep theirs", async () => {
    const [first, second, third] = [
      await projectKey(api, 'gamma', ['read']),
      await projectKey(api, 'gamma', ['read']),
      await projectKey(api, 'gamma', ['read']),
    ];
    // The admin key has spent 3 of its 4; an operator's second key makes the rest.
    const operator = (await requestAs(api, api.adminKey, 'POST', '/v1/keys', { name: 'op', scopes: ['admin', 'read'] }))
      .body.token as string;
    const whoami = (key: string) => requestAs(api, key, 'GET', '/v1/whoami');
    for (let i = 0; i < 4; i++) expect((await whoami(first)).status).toBe(200);
    // Refused by its key's own budget: that spends nothing of the project's.
    const keyLimited = await whoami(first);
    expect(keyLimited.status).toBe(429);
    expect(keyLimited.body.message).toMatch(/^Rate limit reached; retry in \d+ s$/);
    expect((await whoami(second)).status).toBe(200);
    expect((await whoami(second)).status).toBe(200);

    for (const key of [second, third]) {
      const res = await fetch(`${api.baseUrl}/v1/whoami`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(429);
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(((await res.json()) as { message: string }).message).toBe(
        `Project gamma's keys together have made their 6 requests of this minute (RATE_LIMIT_PER_PROJECT_PER_MINUTE); retry in ${retryAfter} s`,
      );
    }
    // A new key of the project is held too; another project's and an operator's own (no project) are not.
    const mint = async (project: string) =>
      (await requestAs(api, operator, 'POST', '/v1/keys', { name: project, scopes: ['read'], project })).body
        .token as string;
    expect((await whoami(await mint('gamma'))).status).toBe(429);
    expect((await whoami(await mint('delta'))).status).toBe(200);
    expect((await whoami(operator)).status).toBe(200);
    expect((await whoami(operator)).status).toBe(200);
  });
});
