import { Agent, request, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { tarOf } from '../testing/tar-of';
import { EARLY_ANSWER_LINGER_MS } from './request-body-deadline';
import { startTestApi, type TestApi } from '../testing/test-api';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Sends `body` in `pieces` chunks `gapMs` apart; resolves with the status and body, or 'cut' when the connection went first. */
function dribble(
  api: TestApi,
  path: string,
  contentType: string,
  body: Buffer,
  pieces: number,
  gapMs: number,
  key: string | null = api.adminKey,
): Promise<{ status: number | 'cut'; body: string }> {
  return new Promise((resolve) => {
    const req = request(new URL(path, api.baseUrl), {
      method: 'POST',
      agent: false,
      headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), 'content-type': contentType },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', () => resolve({ status: 'cut', body: '' }));
    const size = Math.ceil(body.length / pieces);
    void (async () => {
      for (let i = 0; i < pieces; i++) {
        if (req.destroyed) return;
        req.write(body.subarray(i * size, (i + 1) * size));
        await sleep(gapMs);
      }
      req.end();
    })();
  });
}

/**
 * A request body has API_REQUEST_BODY_TIMEOUT_MS to arrive, for every route but a dataset upload,
 * which may take as long as it keeps sending: Node's own 5-minute requestTimeout, which would cut
 * a large upload with a 408, is off.
 */
describe('the time a request body may take (HTTP, PostgreSQL, Redis)', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ env: { API_REQUEST_BODY_TIMEOUT_MS: '800', STALLED_CLIENT_MS: '5000' } });
  });
  afterAll(() => api?.stop());

  it("turns Node's requestTimeout off", () => {
    expect((api.app.getHttpServer() as Server).requestTimeout).toBe(0);
  });

  it('answers 408 to a JSON body still arriving past the deadline, and takes one that arrives in time', async () => {
    const spec = Buffer.from(JSON.stringify({ kind: 'pretrain', name: 'slow', dataset: { name: 'synthetic-shapes' } }));
    const started = Date.now();
    const late = await dribble(api, '/v1/runs', 'application/json', spec, 10, 250);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(late.status).toBe(408);
    // A problem body like every other error's (README: Errors).
    expect(JSON.parse(late.body)).toEqual({
      type: 'about:blank',
      title: 'Request Timeout',
      status: 408,
      statusCode: 408,
      error: 'Request Timeout',
      detail: "The request's body did not arrive within 800 ms (API_REQUEST_BODY_TIMEOUT_MS)",
      message: "The request's body did not arrive within 800 ms (API_REQUEST_BODY_TIMEOUT_MS)",
      requestId: expect.any(String),
    });
    expect((await dribble(api, '/v1/runs', 'application/json', spec, 3, 50)).status).toBe(201);
  });

  it('lets a dataset upload take longer than the deadline while it keeps sending', async () => {
    const tar = await tarOf([
      ['cat/1.png', Buffer.concat([PNG, Buffer.alloc(4096, 1)])],
      ['dog/1.png', Buffer.concat([PNG, Buffer.alloc(4096, 2)])],
    ]);
    const started = Date.now();
    expect((await dribble(api, '/v1/datasets/uploads?name=slow-upload', 'application/x-tar', tar, 8, 250)).status).toBe(
      201,
    );
    expect(Date.now() - started).toBeGreaterThan(1_600);
  });

  it('holds no socket for a client without a key: a JSON body at the upload path is refused unread, a refused tar is let go', async () => {
    const json = Buffer.from(JSON.stringify({ name: 'x'.repeat(200) }));
    const started = Date.now();
    // Its key is checked before its body is read (authenticate-early.ts): 401 at once, not a 408 at the deadline.
    expect((await dribble(api, '/v1/datasets/uploads', 'application/json', json, 20, 250, null)).status).toBe(401);
    expect((await dribble(api, '/v1/datasets/uploads/x', 'application/x-tar', json, 20, 250, null)).status).toBe(415);
    expect(Date.now() - started).toBeLessThan(4_000);

    // A tar without a key is answered 401 at once, and a client that goes on sending is cut soon after
    // (Node closes such a connection itself; requestBodyDeadline destroys it EARLY_ANSWER_LINGER_MS after the answer in any case).
    const tar = Buffer.alloc(64 * 1024);
    const socketClosed = new Promise<number>((resolve) => {
      const req = request(new URL('/v1/datasets/uploads?name=x', api.baseUrl), {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/x-tar' },
      });
      const opened = Date.now();
      let status = 0;
      req.on('response', (res) => {
        status = res.statusCode!;
        res.resume();
      });
      req.on('close', () => resolve(status === 401 ? Date.now() - opened : -status));
      req.on('error', () => undefined);
      const sending = setInterval(() => req.write(tar.subarray(0, 512)), 100);
      req.on('close', () => clearInterval(sending));
      req.write(tar.subarray(0, 512));
    });
    const heldMs = await socketClosed;
    expect(heldMs).toBeGreaterThan(0);
    expect(heldMs).toBeLessThan(4_000);
  });

  it('keeps a connection answered early whose body then arrived whole: a request on it after is not cut', async () => {
    const run = (await (
      await api.fetch(`${api.baseUrl}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'pretrain', name: 'watched', dataset: { name: 'synthetic-shapes' } }),
      })
    ).json()) as { id: string };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const headers = { authorization: `Bearer ${api.adminKey}` };
      // A form-like body is refused before it is read (415); Node reads the rest of it after, and keeps the connection.
      const refused = await new Promise<number>((resolve) => {
        const req = request(new URL('/v1/runs', api.baseUrl), {
          method: 'POST',
          agent,
          headers: { ...headers, 'content-type': 'text/plain' },
        });
        req.on('response', (res) => res.resume().on('end', () => resolve(res.statusCode!)));
        req.end('kind=pretrain');
      });
      expect(refused).toBe(415);
      // The run's event stream, on that same connection, open across the moment it was once destroyed at.
      const stream = await new Promise<{ outcome: 'open' | 'cut'; reused: boolean }>((resolve) => {
        const req = request(new URL(`/v1/runs/${run.id}/events`, api.baseUrl), {
          agent,
          headers: { ...headers, accept: 'text/event-stream' },
        });
        const end = (outcome: 'open' | 'cut') => {
          resolve({ outcome, reused: req.reusedSocket });
          req.destroy();
        };
        req.on('response', (res) => {
          res.on('data', () => undefined);
          res.on('close', () => end('cut'));
          setTimeout(() => end('open'), EARLY_ANSWER_LINGER_MS + 800);
        });
        req.on('error', () => end('cut'));
        req.end();
      });
      expect(stream).toEqual({ outcome: 'open', reused: true });
    } finally {
      agent.destroy();
    }
  });
});
