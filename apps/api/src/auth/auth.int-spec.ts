import { randomUUID } from 'node:crypto';
/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies of many shapes; the assertions check them */
import { createApiApp } from '../create-api-app';
import { loadConfig } from '@trainyard/config';
import { ProblemDetailsSchema, type ApiKeyScope } from '@trainyard/contracts';
import { ApiKeysRepository, type Database } from '@trainyard/db';
import { TrainyardClient } from '@trainyard/client';
import { enumerateRoutes, fillPath } from '../security/hostile-requests';
import { requestAs } from '../testing/keyed-requests';
import { startTestApi, type TestApi } from '../testing/test-api';
import { DATABASE } from '@trainyard/infrastructure';

const UUID = '00000000-0000-4000-8000-000000000000';
/** The only routes open without a key: liveness, readiness, sign-in/out and the dashboard's static files. */
const PUBLIC_ROUTES = [
  'GET /healthz',
  'GET /readyz',
  'POST /v1/session',
  'DELETE /v1/session',
  'GET /',
  'GET /assets/:file',
  'GET /assets/vendor/:file',
  'GET /assets/client/:file',
];
const mnistRun = {
  kind: 'pretrain',
  name: 'auth probe',
  dataset: { name: 'mnist', testPerClass: 10, limit: 200 },
  model: { type: 'conv-autoencoder' },
  training: { epochs: 1 },
};

describe('API keys, scopes and the global guard (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  const json = (method: string, body: unknown, key?: string): RequestInit => ({
    method,
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
  const createKey = async (scopes: string[], project?: string) => {
    const res = await api.fetch(
      `${api.baseUrl}/v1/keys`,
      json('POST', { name: `key ${scopes.join('+')}`, scopes, project }),
    );
    expect(res.status).toBe(201);
    return (await res.json()) as any as {
      key: { id: string; scopes: string[]; project: string | null };
      token: string;
    };
  };
  const runCount = async () => await api.app.get<Database>(DATABASE).prisma.run.count();

  beforeAll(async () => {
    api = await startTestApi({ openApi: true });
  });
  afterAll(() => api?.stop());

  it('closes every route that is not on the public list (read from the app, so a new route is covered)', async () => {
    const routes = enumerateRoutes(api.app);
    expect(routes.length).toBeGreaterThan(25);
    const open: string[] = [];
    for (const route of routes) {
      const id = `${route.method} ${route.path}`;
      const res = await fetch(
        `${api.baseUrl}${fillPath(
          route,
          route.params.map(() => UUID),
        )}`,
        {
          method: route.method,
          ...(['POST', 'PUT', 'PATCH'].includes(route.method)
            ? { headers: { 'content-type': 'application/json' }, body: '{}' }
            : {}),
        },
      );
      if (PUBLIC_ROUTES.includes(id)) continue;
      if (res.status !== 401) open.push(`${id} answered ${res.status}`);
      else expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect(open).toEqual([]);
    // /metrics is closed unless METRICS_PUBLIC says otherwise.
    expect((await fetch(`${api.baseUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${api.baseUrl}/healthz`)).status).toBe(200);
  });

  it('refuses malformed, unknown and revoked keys with 401 and the reason', async () => {
    for (const authorization of [
      'Basic abc',
      'Bearer',
      `Bearer ${'x'.repeat(600)}`,
      'Bearer ty_unknown_key_of_enough_length_000000000',
    ]) {
      const res = await fetch(`${api.baseUrl}/v1/runs`, { headers: { authorization } });
      expect(res.status).toBe(401);
      expect(((await res.json()) as any).errors[0].field).toBe('Authorization');
    }
    const { key, token } = await createKey(['read']);
    expect((await fetch(`${api.baseUrl}/v1/runs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    // The scheme is case-insensitive (RFC 9110, 11.1); the key is not.
    for (const scheme of ['bearer', 'BEARER'])
      expect((await fetch(`${api.baseUrl}/v1/runs`, { headers: { authorization: `${scheme} ${token}` } })).status).toBe(
        200,
      );
    expect(
      (await fetch(`${api.baseUrl}/v1/runs`, { headers: { authorization: `Bearer ${token.toUpperCase()}` } })).status,
    ).toBe(401);
    const revoked = await api.fetch(`${api.baseUrl}/v1/keys/${key.id}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    expect(revoked.headers.get('idempotent-replayed')).toBeNull();
    expect((await fetch(`${api.baseUrl}/v1/runs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    // Revoking it again changes nothing and says so: the same key, its first revokedAt, a header.
    const again = await api.fetch(`${api.baseUrl}/v1/keys/${key.id}`, { method: 'DELETE' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as any).revokedAt).toBe(((await revoked.json()) as any).revokedAt);
  });

  it('shows a token once and stores only a keyed hash of it', async () => {
    const { key, token } = await createKey(['read', 'submit'], 'team-a');
    expect(token).toMatch(/^ty_[A-Za-z0-9_-]{43}$/);
    const listed = (await (await api.fetch(`${api.baseUrl}/v1/keys`)).json()) as { items: Record<string, unknown>[] };
    const row = listed.items.find((k) => k['id'] === key.id)!;
    expect(row).toMatchObject({ scopes: ['read', 'submit'], project: 'team-a', revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(token);
    expect(Object.keys(row)).not.toEqual(expect.arrayContaining(['hash']));
    const stored = await api.app.get<Database>(DATABASE).prisma.apiKey.findMany();
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(JSON.stringify(stored)).not.toContain(api.adminKey);
  });

  it('grants by scope: read cannot submit, submit cannot administer keys, admin can do all', async () => {
    const reader = await createKey(['read']);
    const submitter = await createKey(['submit', 'read']);
    const before = await runCount();
    const denied = await fetch(`${api.baseUrl}/v1/runs`, json('POST', mnistRun, reader.token));
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as any).message).toContain('"submit"');
    expect(await runCount()).toBe(before);
    expect((await fetch(`${api.baseUrl}/v1/runs`, json('POST', mnistRun, submitter.token))).status).toBe(201);
    expect(
      (await fetch(`${api.baseUrl}/v1/keys`, json('POST', { name: 'x', scopes: ['admin'] }, submitter.token))).status,
    ).toBe(403);
    expect(
      (await fetch(`${api.baseUrl}/v1/keys`, { headers: { authorization: `Bearer ${reader.token}` } })).status,
    ).toBe(403);
    const me = (await (
      await fetch(`${api.baseUrl}/v1/whoami`, { headers: { authorization: `Bearer ${reader.token}` } })
    ).json()) as any;
    expect(me).toMatchObject({ scopes: ['read'], project: null });
  });

  it("confines a project's admin key to its project's keys: it never mints an operator's key, nor sees or revokes others'", async () => {
    const projectAdmin = await createKey(['admin'], 'vision');
    const other = await createKey(['read'], 'speech');
    const operator = await createKey(['read']);
    const asAdmin = (path: string, init: RequestInit = {}) =>
      fetch(`${api.baseUrl}${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${projectAdmin.token}` },
      });
    const keyCount = async () => await api.app.get<Database>(DATABASE).prisma.apiKey.count();
    const before = await keyCount();
    // No project given: the new key is confined to the creator's project, not to none (every project).
    const made = await asAdmin('/v1/keys', json('POST', { name: 'ci', scopes: ['admin'] }));
    expect(made.status).toBe(201);
    const minted = (await made.json()) as any;
    expect(minted.key.project).toBe('vision');
    const whoami = await fetch(`${api.baseUrl}/v1/whoami`, { headers: { authorization: `Bearer ${minted.token}` } });
    expect(await whoami.json()).toMatchObject({ scopes: ['admin'], project: 'vision' });
    // Another project: a 403 naming the field, nothing written.
    const refused = await asAdmin('/v1/keys', json('POST', { name: 'x', scopes: ['read'], project: 'speech' }));
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).errors).toEqual([expect.objectContaining({ field: 'project' })]);
    expect(await keyCount()).toBe(before + 1);
    const third = await asAdmin('/v1/keys', json('POST', { name: 'x', scopes: ['read'], project: 'vision' }));
    expect(third.status).toBe(201);
    const thirdId = ((await third.json()) as any).key.id as string;
    // Lists and revokes its project's keys only: another project's key and an operator's are 404s.
    const listed = ((await (await asAdmin('/v1/keys')).json()) as any).items as { id: string; project: string }[];
    expect(listed.map((k) => k.id)).toEqual(expect.arrayContaining([projectAdmin.key.id, minted.key.id, thirdId]));
    expect(new Set(listed.map((k) => k.project))).toEqual(new Set(['vision']));
    for (const id of [other.key.id, operator.key.id])
      expect((await asAdmin(`/v1/keys/${id}`, { method: 'DELETE' })).status).toBe(404);
    const stillLive = await fetch(`${api.baseUrl}/v1/whoami`, { headers: { authorization: `Bearer ${other.token}` } });
    expect(stillLive.status).toBe(200);
    expect((await asAdmin(`/v1/keys/${minted.key.id}`, { method: 'DELETE' })).status).toBe(200);
    // The operator's key still lists every project's.
    const all = ((await (await api.fetch(`${api.baseUrl}/v1/keys`)).json()) as any).items as { project: string }[];
    expect(all.map((k) => k.project)).toEqual(expect.arrayContaining([null, 'vision', 'speech']));
  });

  it('validates key creation: unknown scopes, repeated scopes, bad project names and extra fields are 400 with the field', async () => {
    for (const [body, field] of [
      [{ name: 'x', scopes: ['root'] }, 'scopes.0'],
      [{ name: 'x', scopes: ['read', 'read'] }, 'scopes'],
      [{ name: 'x', scopes: ['read'], project: '../etc' }, 'project'],
      [{ name: 'x\n', scopes: ['read'] }, 'name'],
      [{ name: 'x', scopes: ['read'], __proto__: { admin: true }, extra: 1 }, 'extra'],
    ] as const) {
      const res = await api.fetch(`${api.baseUrl}/v1/keys`, json('POST', body));
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).errors.map((e: { field: string }) => e.field)).toContain(field);
    }
  });

  it('signs the dashboard in with an HttpOnly, SameSite=Strict cookie that authenticates API calls and event streams', async () => {
    const refused = await fetch(`${api.baseUrl}/v1/session`, json('POST', { key: `${api.adminKey}x` }));
    expect(refused.status).toBe(401);
    const res = await fetch(`${api.baseUrl}/v1/session`, json('POST', { key: api.adminKey }));
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const session = cookie.split(';')[0]!;
    expect((await fetch(`${api.baseUrl}/v1/runs`, { headers: { cookie: session } })).status).toBe(200);
    const { id } = (await (await api.fetch(`${api.baseUrl}/v1/runs`, json('POST', mnistRun))).json()) as any;
    const controller = new AbortController();
    const events = await fetch(`${api.baseUrl}/v1/runs/${id}/events`, {
      headers: { cookie: session },
      signal: controller.signal,
    });
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
    controller.abort();
    // A change with no body on the cookie alone is what a form of another page could send: it needs
    // X-Requested-With (what @trainyard/client sends), which no form can.
    const forged = await fetch(`${api.baseUrl}/v1/runs/${id}/cancel`, { method: 'POST', headers: { cookie: session } });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as any).errors).toEqual([expect.objectContaining({ field: 'X-Requested-With' })]);
    expect((await (await api.fetch(`${api.baseUrl}/v1/runs/${id}`)).json()) as any).toMatchObject({ status: 'QUEUED' });
    const marked = await fetch(`${api.baseUrl}/v1/runs/${id}/cancel`, {
      method: 'POST',
      headers: { cookie: session, 'x-requested-with': 'trainyard' },
    });
    expect(marked.status).toBe(200);
    // A key in the Authorization header is never sent by a browser on its own: no mark needed.
    expect((await api.fetch(`${api.baseUrl}/v1/runs/${id}/archive`, { method: 'POST' })).status).toBe(200);
    const out = await fetch(`${api.baseUrl}/v1/session`, { method: 'DELETE' });
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
  });

  it('documents bearer auth in OpenAPI', async () => {
    const refused = await fetch(`${api.baseUrl}/docs-json`);
    expect(refused.status).toBe(401);
    // Outside Nest's controllers, and still answered as problem details like every other error.
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="trainyard"');
    expect(ProblemDetailsSchema.parse(await refused.json())).toMatchObject({ status: 401, title: 'Unauthorized' });
    const doc = (await (await api.fetch(`${api.baseUrl}/docs-json`)).json()) as any;
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);
  });

  it('lists keys newest first a page at a time, live or revoked ones alone, however many there are', async () => {
    const keys = api.app.get(ApiKeysRepository);
    const project = 'listed';
    const made = async (name: string, scopes: ApiKeyScope[] = ['read']) => keys.create({ name, scopes, project });
    const admin = await made('admin', ['admin']);
    const oldLive = (await made('old live')).key.id;
    const revoked: string[] = [];
    for (const name of ['revoked 1', 'revoked 2', 'revoked 3']) {
      const { key } = await made(name);
      await keys.revoke(key.id);
      revoked.push(key.id);
    }
    const newLive = (await made('new live')).key.id;
    const get = (query: string) => requestAs(api, admin.token, 'GET', `/v1/keys${query}`);
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await get(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      ids.push(...page.body.items.map((k: { id: string }) => k.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(ids).toEqual([newLive, ...[...revoked].reverse(), oldLive, admin.key.id]);
    expect((await get('?revoked=false')).body.items.map((k: { id: string }) => k.id)).toEqual([
      newLive,
      oldLive,
      admin.key.id,
    ]);
    expect((await get('?revoked=true&limit=2')).body).toMatchObject({
      items: [{ id: revoked[2] }, { id: revoked[1] }],
      nextCursor: expect.any(String),
    });
    // Hostile queries: each a 400 naming its parameter, nothing listed.
    const pipelinesCursor = Buffer.from(
      JSON.stringify({ k: 'pipelines', t: new Date().toISOString(), i: randomUUID() }),
    ).toString('base64url');
    for (const [query, field] of [
      ['?limit=101', 'limit'],
      ['?limit=0', 'limit'],
      ['?revoked=yes', 'revoked'],
      ['?cursor=not%20a%20cursor', 'cursor'],
      [`?cursor=${pipelinesCursor}`, 'cursor'],
      [`?cursor=${Buffer.from('{"k":"keys","t":"0000-01-01T00:00:00Z","i":"x"}').toString('base64url')}`, 'cursor'],
      ['?__proto__=1', '__proto__'],
    ] as const) {
      const refused = await get(query);
      expect(refused.status).toBe(400);
      expect(refused.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    }
  });

  it('provisions TRAINYARD_ADMIN_KEY once: a restart with the same key makes no second row', async () => {
    const keys = api.app.get(ApiKeysRepository);
    const admins = (await keys.page({ limit: 100 })).items.filter((k) => k.name.includes('TRAINYARD_ADMIN_KEY'));
    expect(admins).toHaveLength(1);
    const again = await createApiApp(api.config, {
      queueName: api.queueName,
      logger: false,
      shutdownHooks: false,
      openApi: false,
    });
    await again.close();
    expect((await keys.page({ limit: 100 })).items.filter((k) => k.name.includes('TRAINYARD_ADMIN_KEY'))).toHaveLength(
      1,
    );
  });
});

describe('auth switched off', () => {
  it('is refused unless the API listens on loopback', async () => {
    const config = loadConfig({ TRAINYARD_AUTH: 'off', API_HOST: '0.0.0.0' });
    await expect(createApiApp(config, { logger: false })).rejects.toThrow(
      /TRAINYARD_AUTH=off is allowed only while the API listens on loopback/,
    );
  });

  it('on loopback, lets requests in without a key, as an admin of every project', async () => {
    const api = await startTestApi({ env: { TRAINYARD_AUTH: 'off' } });
    try {
      const me = (await (await fetch(`${api.baseUrl}/v1/whoami`)).json()) as any;
      expect(me).toMatchObject({ scopes: ['admin'], project: null });
      // With nothing to prove who asks, any page could post a form here: a change with no body
      // needs X-Requested-With, which @trainyard/client sends and no form can.
      const run = await new TrainyardClient(api.baseUrl).submit(mnistRun as never);
      const forged = await fetch(`${api.baseUrl}/v1/runs/${run.id}/cancel`, { method: 'POST' });
      expect(forged.status).toBe(403);
      expect((await new TrainyardClient(api.baseUrl).cancel(run.id)).status).toBe('CANCELLED');
    } finally {
      await api.stop();
    }
  });
});
