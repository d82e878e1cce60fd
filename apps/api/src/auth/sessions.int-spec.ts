import { RunsRepository, type Database } from '@trainyard/db';
import { DATABASE } from '@trainyard/infrastructure';
import { projectKey, requestAs, signIn } from '../testing/keyed-requests';
import { startTestApi, type TestApi } from '../testing/test-api';
import { KEY_CACHE_TTL_MS } from './api-key.authenticator';
import { REVOKED_KEY_FAREWELL } from './open-request-key.check';
import { SESSION_COOKIE } from './request-principal';
import { SESSION_MAX_AGE_S } from './session.controller';

/**
 * The dashboard's session cookie holds a session the server keeps, never the key: a copy of the
 * cookie dies when its browser signs out or its key is revoked, and is no key for curl.
 */
describe('dashboard sessions held by the server', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.stop());

  const prisma = () => api.app.get<Database>(DATABASE).prisma;
  const runsWith = async (headers: Record<string, string>) =>
    (await fetch(`${api.baseUrl}/v1/runs`, { headers })).status;
  const tokenOf = (cookie: string) => cookie.slice(`${SESSION_COOKIE}=`.length);
  const openEvents = async (runId: string, cookie: string): Promise<EventStream> => {
    const controller = new AbortController();
    const res = await fetch(`${api.baseUrl}/v1/runs/${runId}/events`, {
      headers: { cookie },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const stream: EventStream = { text: '', done: false, abort: () => controller.abort() };
    void (async () => {
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done) break;
        stream.text += decoder.decode(value, { stream: true });
      }
      stream.done = true;
    })();
    return stream;
  };
  const keyIdOf = async (key: string) => (await requestAs(api, key, 'GET', '/v1/whoami')).body.keyId as string;

  it('sets a cookie holding a fresh session token, never the key', async () => {
    const key = await projectKey(api, 'sessions', ['read']);
    const res = await fetch(`${api.baseUrl}/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).not.toContain(key);
    expect(setCookie).not.toContain(encodeURIComponent(key));
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=tys_[A-Za-z0-9_-]{43};`));
    const cookie = setCookie.split(';')[0]!;
    expect(await runsWith({ cookie })).toBe(200);
    // Each sign-in is a session of its own.
    expect(await signIn(api.baseUrl, key)).not.toBe(cookie);
  });

  it('ends the session on sign-out: the old cookie replayed is a 401, another session of the key goes on', async () => {
    const key = await projectKey(api, 'sessions', ['read']);
    const cookie = await signIn(api.baseUrl, key);
    const other = await signIn(api.baseUrl, key);
    expect(await runsWith({ cookie })).toBe(200); // proven, so cached by this process
    const out = await fetch(`${api.baseUrl}/v1/session`, { method: 'DELETE', headers: { cookie } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect(await runsWith({ cookie })).toBe(401);
    expect(await prisma().apiKeySession.count({ where: { keyId: await keyIdOf(key) } })).toBe(1);
    expect(await runsWith({ cookie: other })).toBe(200);
    expect(await runsWith({ authorization: `Bearer ${key}` })).toBe(200);
  });

  it("ends a signed-out session's event stream within the re-check's 5 s, and leaves another session's", async () => {
    const runId = await api.submitPretrain('watched while its viewer signs out');
    await api.app.get(RunsRepository).markRunning(runId, 'cpu');
    const key = await projectKey(api, 'default', ['read']);
    const [leaving, staying] = [await signIn(api.baseUrl, key), await signIn(api.baseUrl, key)];
    const streams = [await openEvents(runId, leaving), await openEvents(runId, staying)];
    try {
      for (const stream of streams) await waitFor(() => stream.text.includes('event: status'), 5_000);
      const signedOutAt = Date.now();
      expect(
        (await fetch(`${api.baseUrl}/v1/session`, { method: 'DELETE', headers: { cookie: leaving } })).status,
      ).toBe(204);
      await waitFor(() => streams[0]!.done, KEY_CACHE_TTL_MS + 2_000);
      expect(Date.now() - signedOutAt).toBeLessThan(KEY_CACHE_TTL_MS + 2_000);
      expect(streams[0]!.text.endsWith(REVOKED_KEY_FAREWELL)).toBe(true);
      expect(streams[1]!.done).toBe(false);
    } finally {
      for (const stream of streams) stream.abort();
    }
  });

  it("stops a revoked key's sessions", async () => {
    const key = await projectKey(api, 'sessions', ['read']);
    const cookie = await signIn(api.baseUrl, key);
    expect(await runsWith({ cookie })).toBe(200);
    expect((await requestAs(api, api.adminKey, 'DELETE', `/v1/keys/${await keyIdOf(key)}`)).status).toBe(200);
    expect(await runsWith({ cookie })).toBe(401);
  });

  it('refuses an expired session, and deletes expired sessions at the next sign-in', async () => {
    const key = await projectKey(api, 'sessions', ['read']);
    const cookie = await signIn(api.baseUrl, key);
    const keyId = await keyIdOf(key);
    const rows = await prisma().apiKeySession.findMany({ where: { keyId } });
    expect(rows).toHaveLength(1);
    // Its expiry is the cookie's max age.
    expect(rows[0]!.expiresAt.getTime() - rows[0]!.createdAt.getTime()).toBe(SESSION_MAX_AGE_S * 1000);
    await prisma().apiKeySession.updateMany({ where: { keyId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await runsWith({ cookie })).toBe(401);
    await signIn(api.baseUrl, api.adminKey);
    expect(await prisma().apiKeySession.count({ where: { keyId } })).toBe(0);
  });

  it('refuses a session token sent as a bearer token, and a cookie holding a key (as before sessions)', async () => {
    const key = await projectKey(api, 'sessions', ['read']);
    const cookie = await signIn(api.baseUrl, key);
    expect(await runsWith({ cookie })).toBe(200); // proven by this process: no cache lets it pass as a key
    const asBearer = await requestAs(api, tokenOf(cookie), 'GET', '/v1/runs');
    expect(asBearer.status).toBe(401);
    expect(await runsWith({ cookie: `${SESSION_COOKIE}=${key}` })).toBe(401);
  });

  it('holds a key to 100 sessions: a sign-in past them ends its oldest', async () => {
    const key = await projectKey(api, 'sessions', ['read']);
    const first = await signIn(api.baseUrl, key);
    const second = await signIn(api.baseUrl, key);
    for (let n = 2; n < 100; n++) await signIn(api.baseUrl, key);
    const keyId = await keyIdOf(key);
    expect(await prisma().apiKeySession.count({ where: { keyId } })).toBe(100);
    const newest = await signIn(api.baseUrl, key);
    expect(await prisma().apiKeySession.count({ where: { keyId } })).toBe(100);
    expect(await runsWith({ cookie: first })).toBe(401);
    expect(await runsWith({ cookie: second })).toBe(200);
    expect(await runsWith({ cookie: newest })).toBe(200);
  });

  it('stores no column holding a session token', async () => {
    const cookie = await signIn(api.baseUrl, api.adminKey);
    expect(await runsWith({ cookie })).toBe(200);
    const token = tokenOf(cookie);
    const stored = await prisma().$queryRawUnsafe<unknown[]>(
      `SELECT row_to_json(s)::text AS row FROM "api_key_sessions" s UNION ALL SELECT row_to_json(k)::text FROM "api_keys" k`,
    );
    expect(stored.length).toBeGreaterThan(1);
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(JSON.stringify(stored)).not.toContain(token.slice(4));
  });
});

interface EventStream {
  text: string;
  done: boolean;
  abort(): void;
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
