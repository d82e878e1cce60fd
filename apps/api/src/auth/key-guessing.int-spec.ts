import { randomBytes } from 'node:crypto';
import { ApiKeysRepository, newApiKeyToken } from '@trainyard/db';
import { ApiKeyAuthenticator, KEY_CACHE_MAX, keyCredential } from './api-key.authenticator';
import { projectKey } from '../testing/keyed-requests';
import { startTestApi, type TestApi } from '../testing/test-api';

/** A token shaped like a key that no key has. */
const guess = () => `ty_${randomBytes(32).toString('base64url')}`;
/** An address of the documentation ranges, new on every run. */
const someAddress = (prefix: string) => `${prefix}.${1 + Math.floor(Math.random() * 254)}`;

/**
 * An API whose budget is 5 a minute, behind a trusted proxy (loopback) so each test's clients are
 * addresses of their own, and a spy on its key lookups; each suite its own (their own admin key's budget).
 */
function useGuessedApi(use: (api: TestApi, lookups: jest.SpyInstance) => void): void {
  let api: TestApi | undefined;
  beforeAll(async () => {
    api = await startTestApi({ env: { RATE_LIMIT_PER_MINUTE: '5', API_TRUST_PROXY: 'loopback' }, openApi: true });
    use(api, jest.spyOn(api.app.get(ApiKeysRepository), 'verify'));
  });
  afterAll(() => api?.stop());
}

describe('key guessing is limited per address before any lookup (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let lookups: jest.SpyInstance;
  useGuessedApi((started, spy) => ((api = started), (lookups = spy)));

  const whoami = (token: string | undefined, address: string) =>
    fetch(`${api.baseUrl}/v1/whoami`, {
      headers: { 'x-forwarded-for': address, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });

  it('refuses every unproven token from an address past its budget of failed authentications with 429, looking none up', async () => {
    const nat = someAddress('203.0.113');
    // A colleague behind the same address, working before the guesser starts: this process has proven the key.
    const working = await projectKey(api, 'team', ['read']);
    expect((await whoami(working, nat)).status).toBe(200);
    // Another colleague's key, valid but never seen by this process.
    const unseen = await projectKey(api, 'team', ['read']);

    lookups.mockClear();
    const first: number[] = [];
    for (let i = 0; i < 5; i++) first.push((await whoami(guess(), nat)).status);
    expect(first).toEqual([401, 401, 401, 401, 401]);
    expect(lookups).toHaveBeenCalledTimes(5);

    lookups.mockClear();
    for (let i = 0; i < 5; i++) {
      const refused = await whoami(guess(), nat);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    }
    // A 429 says nothing about the token: a valid key this process has not proven gets it too…
    expect((await whoami(unseen, nat)).status).toBe(429);
    // …as do requests without a key and malformed ones.
    expect((await whoami(undefined, nat)).status).toBe(429);
    expect(
      (await fetch(`${api.baseUrl}/v1/whoami`, { headers: { 'x-forwarded-for': nat, authorization: 'Basic x' } }))
        .status,
    ).toBe(429);
    // Not one of them was looked up.
    expect(lookups).not.toHaveBeenCalled();

    // The colleague whose key this process proved goes on working from the guesser's address.
    expect((await whoami(working, nat)).status).toBe(200);
    // Another address has its own budget: the unseen key works there.
    expect((await whoami(unseen, someAddress('198.51.100'))).status).toBe(200);
  });

  it('holds the OpenAPI document (served outside Nest) to the same budget, looking nothing up past it', async () => {
    // Before, /docs-json looked up every token it was sent, however many an address had failed.
    const address = `2001:db8::${Math.floor(Math.random() * 0xffff).toString(16)}`;
    const docs = (token: string) =>
      fetch(`${api.baseUrl}/docs-json`, { headers: { 'x-forwarded-for': address, authorization: `Bearer ${token}` } });
    const working = await projectKey(api, 'team', ['read']);
    expect((await whoami(working, address)).status).toBe(200);
    lookups.mockClear();
    const first: number[] = [];
    for (let i = 0; i < 5; i++) first.push((await docs(guess())).status);
    expect(first).toEqual([401, 401, 401, 401, 401]);
    expect(lookups).toHaveBeenCalledTimes(5);
    lookups.mockClear();
    for (let i = 0; i < 5; i++) {
      const refused = await docs(guess());
      expect(refused.status).toBe(429);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // The failures spent the address's budget for the API's routes too.
    expect((await whoami(guess(), address)).status).toBe(429);
    expect(lookups).not.toHaveBeenCalled();
    // A key this process proved still reads the document.
    expect((await docs(working)).status).toBe(200);
  });

  it('forgets a proven key that fails (revoked): from an address past its budget it is then refused unlooked-up', async () => {
    const address = someAddress('192.0.2');
    const made = await fetch(`${api.baseUrl}/v1/keys`, {
      method: 'POST',
      headers: { ...api.authHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'to revoke', scopes: ['read'], project: 'team' }),
    });
    const { key, token } = (await made.json()) as { key: { id: string }; token: string };
    expect((await whoami(token, address)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await whoami(guess(), address)).status).toBe(401);
    expect(
      (await fetch(`${api.baseUrl}/v1/keys/${key.id}`, { method: 'DELETE', headers: api.authHeaders })).status,
    ).toBe(200);
    lookups.mockClear();
    // Proven, so looked up once: revoked, refused, and no longer proven.
    expect((await whoami(token, address)).status).toBe(429);
    expect(lookups).toHaveBeenCalledTimes(1);
    expect((await whoami(token, address)).status).toBe(429);
    expect(lookups).toHaveBeenCalledTimes(1);
  });
});

describe('dashboard sign-ins and key guessing (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let lookups: jest.SpyInstance;
  useGuessedApi((started, spy) => ((api = started), (lookups = spy)));

  it('holds dashboard sign-ins to the same rule: failures spend the budget, a proven key still signs in', async () => {
    const nat = someAddress('203.0.113');
    const signIn = (key: string) =>
      fetch(`${api.baseUrl}/v1/session`, {
        method: 'POST',
        headers: { 'x-forwarded-for': nat, 'content-type': 'application/json' },
        body: JSON.stringify({ key }),
      });
    const working = await projectKey(api, 'team', ['read']);
    const unseen = await projectKey(api, 'team', ['read']);
    // Signing in succeeds as often as needed: it spends nothing.
    for (let i = 0; i < 6; i++) expect((await signIn(working)).status).toBe(200);
    const failed: number[] = [];
    for (let i = 0; i < 5; i++) failed.push((await signIn(guess())).status);
    expect(failed).toEqual([401, 401, 401, 401, 401]);
    lookups.mockClear();
    expect((await signIn(guess())).status).toBe(429);
    expect((await signIn(unseen)).status).toBe(429);
    expect(lookups).not.toHaveBeenCalled();
    expect((await signIn(working)).status).toBe(200);
  });
});

describe('the cache of verified keys (PostgreSQL)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.stop());

  it('keeps the keys it proved however many unknown tokens are tried: it never holds a wrong one', async () => {
    const authenticator = api.app.get(ApiKeyAuthenticator);
    const token = await projectKey(api, 'team', ['read']);
    expect(await authenticator.authenticate(keyCredential(token))).toMatchObject({ project: 'team' });
    // More unknown tokens than the cache holds, straight to the authenticator (no rate limit in the way).
    for (let sent = 0; sent <= KEY_CACHE_MAX; sent += 100)
      await Promise.all(
        Array.from({ length: 100 }, async () =>
          expect(await authenticator.authenticate(keyCredential(newApiKeyToken()))).toBeNull(),
        ),
      );
    expect(authenticator.hasProven(keyCredential(token))).toBe(true);
  });
});
