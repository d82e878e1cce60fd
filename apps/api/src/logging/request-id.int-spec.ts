import { SafeConsoleLogger } from '@trainyard/config/logger';
import { startTestApi, type TestApi } from '../testing/test-api';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Request ids: every response names its request (a well-formed X-Request-Id from the caller or
 * a proxy is kept, anything else replaced), and the API's log lines about a request carry the
 * same id, read here from the JSON lines the API prints (LOG_JSON's format).
 */
describe('X-Request-Id (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  const printed: string[] = [];
  let stdout: jest.SpyInstance;

  beforeAll(async () => {
    api = await startTestApi({
      logger: new SafeConsoleLogger('trainyard-api', { json: true, logLevels: ['error', 'warn', 'log'] }),
    });
    stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    });
  });
  afterAll(async () => {
    stdout?.mockRestore();
    await api?.stop();
  });

  /** POST /v1/keys logs a line ("API key … created"): a request with a JSON body, through the body parser. */
  const createKey = (name: string, headers: Record<string, string> = {}) =>
    api.fetch(`${api.baseUrl}/v1/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ name, scopes: ['read'] }),
    });
  const linesAbout = (name: string) =>
    printed.flatMap((l) => (l.includes(name) ? [JSON.parse(l) as Record<string, unknown>] : []));

  it('keeps a well-formed incoming id, echoes it, and puts it on the log lines of that request', async () => {
    const res = await createKey('traced key', { 'x-request-id': 'trace-42.abc_X' });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toBe('trace-42.abc_X');
    expect(linesAbout('traced key')).toEqual([
      expect.objectContaining({ level: 'log', context: 'ApiKeysController', requestId: 'trace-42.abc_X' }),
    ]);
  });

  it('makes a UUID when there is none, and the log line carries the one the response names', async () => {
    const res = await createKey('untraced key');
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(UUID);
    expect(linesAbout('untraced key')).toEqual([expect.objectContaining({ requestId: id })]);
  });

  it('replaces an id that is not 1-64 of [A-Za-z0-9._-]', async () => {
    for (const hostile of ['a b', 'x'.repeat(65), 'ünïcode', '../etc/passwd', '<script>', '"quoted"', 'a\tb']) {
      const res = await api.fetch(`${api.baseUrl}/v1/whoami`, { headers: { 'x-request-id': hostile } });
      expect({ hostile, status: res.status, id: res.headers.get('x-request-id') }).toEqual({
        hostile,
        status: 200,
        id: expect.stringMatching(UUID),
      });
    }
  });

  it('names refusals too: 401, 404 and 400 answers carry an id', async () => {
    const unauthenticated = await fetch(`${api.baseUrl}/v1/runs`);
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('x-request-id')).toMatch(UUID);
    const missing = await api.fetch(`${api.baseUrl}/v1/runs/6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5`, {
      headers: { 'x-request-id': 'abc' },
    });
    expect([missing.status, missing.headers.get('x-request-id')]).toEqual([404, 'abc']);
    const invalid = await api.fetch(`${api.baseUrl}/v1/runs?limit=0`);
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('x-request-id')).toMatch(UUID);
  });
});
