import { request, type IncomingMessage } from 'node:http';
import { signIn } from '../testing/keyed-requests';
import { startTestApi, type TestApi } from '../testing/test-api';

/**
 * A request's body is read only once its key is proven (authenticate-early.ts): Nest's guard runs
 * after every middleware, so before, the JSON parser read and parsed up to 1 MB for anyone who
 * reached the port, with no key or a wrong one. Each request here sends its headers and the start
 * of a body it declares far longer, and never the rest: an answer that comes means the API did not
 * wait for the body; one that does not means it did.
 */
describe('request bodies are read only after the key is proven (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  const DECLARED = 900_000;
  const START = '{"kind":"pretrain","name":"';

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.stop());

  /** Sends the headers and START of a DECLARED-byte body; resolves with the answer, or 'no answer' after `waitMs`. */
  const partialPost = (path: string, headers: Record<string, string>, waitMs = 3000, method = 'POST') =>
    new Promise<{ status: number; body: string; headers: IncomingMessage['headers'] } | 'no answer'>(
      (resolve, reject) => {
        const url = new URL(path, api.baseUrl);
        const req = request(url, {
          method,
          headers: { 'content-type': 'application/json', 'content-length': String(DECLARED), ...headers },
        });
        const timer = setTimeout(() => {
          req.destroy();
          resolve('no answer');
        }, waitMs);
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => {
            clearTimeout(timer);
            req.destroy();
            resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
          });
        });
        req.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        req.write(START);
      },
    );

  it('answers a body with no key 401 before reading it', async () => {
    const answer = await partialPost('/v1/runs', {});
    expect(answer).toMatchObject({ status: 401, headers: { 'www-authenticate': expect.stringMatching(/Bearer/) } });
  });

  it('answers a body with an unknown, a malformed or a revoked key 401 before reading it', async () => {
    for (const authorization of [`Bearer ty_${'x'.repeat(43)}`, 'Bearer', 'Basic dXNlcjpwYXNz'])
      expect({ authorization, answer: await partialPost('/v1/runs', { authorization }) }).toMatchObject({
        authorization,
        answer: { status: 401 },
      });
    const created = (await (
      await api.fetch(`${api.baseUrl}/v1/keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'soon revoked', scopes: ['submit'] }),
      })
    ).json()) as { key: { id: string }; token: string };
    expect((await api.fetch(`${api.baseUrl}/v1/keys/${created.key.id}`, { method: 'DELETE' })).status).toBe(200);
    expect(await partialPost('/v1/runs', { authorization: `Bearer ${created.token}` })).toMatchObject({ status: 401 });
  });

  it('answers 401 for any path, an unknown one or one spelled in capitals, before reading the body', async () => {
    for (const path of ['/v1/no-such-route', '/V1/RUNS', '/v1/runs/', '/v1/runs?x=1', '/v1/sessions'])
      expect({ path, answer: await partialPost(path, {}) }).toMatchObject({ path, answer: { status: 401 } });
  });

  it('never reads the body of a GET or HEAD (no route takes one): answered at once, with a key or without', async () => {
    for (const method of ['GET', 'HEAD']) {
      expect({ method, answer: await partialPost('/v1/runs', {}, 3000, method) }).toMatchObject({
        method,
        answer: { status: 401 },
      });
      expect({ method, answer: await partialPost('/v1/runs?limit=1', api.authHeaders, 3000, method) }).toMatchObject({
        method,
        answer: { status: 200 },
      });
      expect({ method, answer: await partialPost('/healthz', {}, 3000, method) }).toMatchObject({
        method,
        answer: { status: 200 },
      });
    }
  });

  it('waits for the body of a proven key, by header or by session cookie, and answers it whole', async () => {
    expect(await partialPost('/v1/runs', api.authHeaders, 1500)).toBe('no answer');
    expect(await partialPost('/v1/runs', { cookie: await signIn(api.baseUrl, api.adminKey) }, 1500)).toBe('no answer');
    const whole = await api.fetch(`${api.baseUrl}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'pretrain', name: 'after its key', dataset: { name: 'synthetic-shapes' } }),
    });
    expect(whole.status).toBe(201);
  });

  it('still reads the body of a sign-in, which is the key itself, with no key besides', async () => {
    for (const path of ['/v1/session', '/v1/session/', '/V1/Session'])
      expect({ path, answer: await partialPost(path, {}, 1500) }).toEqual({ path, answer: 'no answer' });
    const signIn = await fetch(`${api.baseUrl}/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: api.adminKey }),
    });
    expect(signIn.status).toBe(200);
  });

  it('answers the body of a key lacking the scope 403, after proving it before the body', async () => {
    const created = (await (
      await api.fetch(`${api.baseUrl}/v1/keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'reader', scopes: ['read'] }),
      })
    ).json()) as { token: string };
    const res = await fetch(`${api.baseUrl}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${created.token}` },
      body: JSON.stringify({ kind: 'pretrain', name: 'reader', dataset: { name: 'synthetic-shapes' } }),
    });
    expect(res.status).toBe(403);
  });
});
