import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamEndedEarlyError, TrainyardApiError, TrainyardConnectionError } from './trainyard-api.error';
import { TrainyardClient } from './trainyard-client';
import { IDEMPOTENT_REPLAYED_HEADER } from '@trainyard/contracts';
import { REPLAYED_HEADER, TrainyardClientCore } from './trainyard-client-core';

/** A real HTTP server on a free port answering from a script of handlers, one per request. */
function scripted(handlers: ((req: IncomingMessage, res: ServerResponse) => void)[]) {
  const seen: { at: number; method: string; url: string; headers: IncomingMessage['headers'] }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ at: Date.now(), method: req.method!, url: req.url!, headers: req.headers });
    (handlers[seen.length - 1] ?? handlers.at(-1)!)(req, res);
  });
  return {
    seen,
    async url() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // a request left unanswered (an aborted one) would hold close() for seconds
      }),
  };
}

const problem = (
  res: ServerResponse,
  status: number,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) => {
  res.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
  res.end(
    JSON.stringify({
      type: 'about:blank',
      title: 'x',
      status,
      detail: `status ${status}`,
      statusCode: status,
      error: 'x',
      message: `status ${status}`,
      ...extra,
    }),
  );
};
const okJson = (body: unknown) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('TrainyardClient', () => {
  let server: ReturnType<typeof scripted>;
  afterEach(() => server.close());

  it('retries a 429 after the Retry-After it was given, then returns the answer', async () => {
    server = scripted([(_req, res) => problem(res, 429, {}, { 'retry-after': '1' }), okJson({ workers: [] })]);
    const client = new TrainyardClient(await server.url(), 'key-1');
    await expect(client.workers()).resolves.toEqual({ workers: [] });
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1].at - server.seen[0].at).toBeGreaterThanOrEqual(950);
    expect(server.seen[0].headers.authorization).toBe('Bearer key-1');
  });

  it('gives up after its bounded retries with the problem details as a TrainyardApiError', async () => {
    server = scripted([(_req, res) => problem(res, 429, { requestId: 'req-9' }, { 'retry-after': '0' })]);
    const client = new TrainyardClient(await server.url(), undefined, { retry: { retries: 2 } });
    const error = await client.queues().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainyardApiError);
    expect(error).toMatchObject({ status: 429, detail: 'status 429', requestId: 'req-9' });
    expect(server.seen).toHaveLength(3);
  });

  it('does not retry a 429 without Retry-After: a quota that frees as runs start, not a rate limit', async () => {
    const quota = { errors: [{ field: 'project', message: 'Queued-runs quota 2 reached' }] };
    server = scripted([(_req, res) => problem(res, 429, quota), okJson({ id: 'r1' })]);
    const client = new TrainyardClient(await server.url());
    await expect(client.submit({} as never)).rejects.toMatchObject({ status: 429, errors: quota.errors });
    expect(server.seen).toHaveLength(1);
  });

  it('caps a long Retry-After at maxDelayMs', async () => {
    server = scripted([(_req, res) => problem(res, 503, {}, { 'retry-after': '3600' }), okJson({ queues: [] })]);
    const client = new TrainyardClient(await server.url(), undefined, { retry: { maxDelayMs: 50 } });
    const started = Date.now();
    await client.queues();
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('does not retry a 503 of a POST that is not safe to repeat', async () => {
    server = scripted([(_req, res) => problem(res, 503)]);
    const client = new TrainyardClient(await server.url());
    await expect(client.submitSweep({} as never)).rejects.toMatchObject({ status: 503 });
    expect(server.seen).toHaveLength(1);
  });

  it('names the bad fields of a 400', async () => {
    server = scripted([
      (_req, res) =>
        problem(res, 400, { detail: 'Invalid run spec', errors: [{ field: 'training.epochs', message: 'Too small' }] }),
    ]);
    const client = new TrainyardClient(await server.url());
    const error = (await client.submit({} as never).catch((e: unknown) => e)) as TrainyardApiError;
    expect(error.errors).toEqual([{ field: 'training.epochs', message: 'Too small' }]);
    expect(error.message).toContain('training.epochs: Too small');
    expect(server.seen[0].headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('stops waiting for a retry when its AbortSignal aborts', async () => {
    server = scripted([(_req, res) => problem(res, 429, {}, { 'retry-after': '20' })]);
    const client = new TrainyardClient(await server.url());
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await expect(client.workers({ signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('says which call could not reach the API, and why, as a TrainyardConnectionError', async () => {
    server = scripted([okJson({})]);
    const url = await server.url();
    await server.close(); // nothing listens there now
    const error = await new TrainyardClient(url).deleteRun('r1', { dryRun: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainyardConnectionError);
    expect(error).toMatchObject({
      name: 'TrainyardConnectionError',
      method: 'DELETE',
      url: `${url}/v1/runs/r1?dryRun=true`,
      code: 'ECONNREFUSED',
      cause: expect.objectContaining({ name: 'TypeError', message: 'fetch failed' }),
    });
    expect((error as Error).message).toMatch(
      new RegExp(`^DELETE ${url}/v1/runs/r1\\?dryRun=true could not reach the API: .*ECONNREFUSED`),
    );
  });

  it('rejects an aborted call with its AbortError, never a TrainyardConnectionError', async () => {
    server = scripted([() => undefined]); // never answers
    const client = new TrainyardClient(await server.url());
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const inFlight = await client.workers({ signal: controller.signal }).catch((e: unknown) => e);
    expect(inFlight).toMatchObject({ name: 'AbortError' });
    expect(inFlight).not.toBeInstanceOf(TrainyardConnectionError);
    const before = await client.workers({ signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(before).toMatchObject({ name: 'AbortError' });
    const timedOut = await client.workers({ signal: AbortSignal.timeout(50) }).catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ name: 'TimeoutError' });
  });

  it("says each blocker of a refused run deletion once, and types the 409's blockers", async () => {
    const blockers = [
      { reason: 'registered-model', message: 'Version 2 of model "digits" is its checkpoint', id: 'digits@2' },
      { reason: 'base-of-run', message: 'Run r2 fine-tunes from it', id: 'r2' },
    ] as const;
    const detail = `Run r1 cannot be deleted: ${blockers.map((b) => b.message).join('; ')}`;
    server = scripted([
      (_req, res) =>
        problem(res, 409, {
          detail,
          message: detail,
          errors: blockers.map((b) => ({ field: b.reason, message: b.message })),
          blockers,
        }),
    ]);
    const error = (await new TrainyardClient(await server.url()).deleteRun('r1').catch((e: unknown) => e)) as
      TrainyardApiError | undefined;
    expect(error).toBeInstanceOf(TrainyardApiError);
    expect(error!.message).toBe(`DELETE /v1/runs/r1 answered 409: ${detail}`);
    const ids: (string | null)[] = error!.blockers.map((b) => b.id);
    expect(ids).toEqual(['digits@2', 'r2']);
    expect(error!.errors).toHaveLength(2);
    expect(new TrainyardApiError('GET', '/v1/runs', 400, null).blockers).toEqual([]);
  });

  it('filters runs by kind and status in either case, as the API reads them', async () => {
    server = scripted([okJson({ items: [], nextCursor: null })]);
    const client = new TrainyardClient(await server.url());
    await client.listRuns({ kind: 'finetune', status: 'succeeded' });
    // The compiler's half, checked by `npm run typecheck`: a kind that is none still does not compile.
    // @ts-expect-error not a run kind
    const notAKind: Parameters<TrainyardClient['listRuns']>[0] = { kind: 'finetunes' };
    expect(notAKind).toBeDefined();
    expect(server.seen[0]!.url).toBe('/v1/runs?kind=finetune&status=succeeded');
  });

  it('pages GET /v1/runs with the keyset cursor', async () => {
    server = scripted([
      okJson({ items: [{ id: 'a' }, { id: 'b' }], nextCursor: 'c1' }),
      okJson({ items: [{ id: 'c' }], nextCursor: null }),
    ]);
    const client = new TrainyardClient(await server.url());
    const ids: string[] = [];
    for await (const run of client.runs({ status: 'SUCCEEDED', limit: 2 })) ids.push(run.id);
    expect(ids).toEqual(['a', 'b', 'c']);
    expect(server.seen.map((s) => s.url)).toEqual([
      '/v1/runs?status=SUCCEEDED&limit=2',
      '/v1/runs?status=SUCCEEDED&limit=2&cursor=c1',
    ]);
  });

  it('reads a followed log as server-sent events until `end`', async () => {
    const line = { t: '2026-01-01T00:00:00Z', level: 'log', source: 'stdout', attempt: 1, jobId: 'j', msg: 'epoch 1' };
    server = scripted([
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': keepalive\r\n\r\n');
        res.write(`id: 1-0-1\nevent: line\ndata: ${JSON.stringify(line)}\n\n`);
        res.end('event: end\ndata: {"next":"1-0-1"}\n\n');
      },
    ]);
    const client = new TrainyardClient(await server.url(), undefined, { validateResponses: true });
    const lines = [];
    for await (const l of client.followLogs('run-1')) lines.push(l);
    expect(lines).toEqual([line]);
    expect(server.seen[0].url).toBe('/v1/runs/run-1/logs?follow=true');
  });

  it('says a followed log the server ended before `end` ended early (an API restarted, a key revoked)', async () => {
    const line = { t: '2026-01-01T00:00:00Z', level: 'log', source: 'stdout', attempt: 1, jobId: 'j', msg: 'epoch 1' };
    server = scripted([
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`id: 1-0-1\nevent: line\ndata: ${JSON.stringify(line)}\n\n: key revoked\n\n`);
      },
    ]);
    const client = new TrainyardClient(await server.url());
    const lines: unknown[] = [];
    await expect(
      (async () => {
        for await (const l of client.followLogs('run-1')) lines.push(l);
      })(),
    ).rejects.toBeInstanceOf(StreamEndedEarlyError);
    expect(lines).toEqual([line]);
  });

  it('checks answers against their contracts only in the Node client with validateResponses; the core takes them as typed', async () => {
    server = scripted([okJson({ workers: 'not a list' })]);
    const url = await server.url();
    await expect(new TrainyardClient(url, undefined, { validateResponses: true }).workers()).rejects.toMatchObject({
      name: 'ZodError',
    });
    await expect(new TrainyardClientCore(url).workers()).resolves.toEqual({ workers: 'not a list' });
  });

  it('sends the credentials mode it was given through the fetch it was given, and builds link URLs as it sends them', async () => {
    const seen: { url: string; init: RequestInit | undefined }[] = [];
    const client = new TrainyardClientCore('', undefined, {
      credentials: 'same-origin',
      fetch: async (input, init) => {
        seen.push({ url: String(input), init });
        return new Response(JSON.stringify({ name: 'me', scopes: ['read'], project: null }), { status: 200 });
      },
    });
    await expect(client.createSession('ty_key')).resolves.toEqual({ name: 'me', scopes: ['read'], project: null });
    expect(seen[0]).toMatchObject({
      url: '/v1/session',
      init: { method: 'POST', credentials: 'same-origin', body: JSON.stringify({ key: 'ty_key' }) },
    });
    expect(seen[0]!.init!.headers).not.toHaveProperty('authorization');
    expect(client.checkpointFileUrl('r/1', 3, 'model weights.bin')).toBe(
      '/v1/runs/r%2F1/checkpoints/3/download?file=model+weights.bin',
    );
    expect(client.datasetSampleUrl('d', 2, 5)).toBe('/v1/datasets/d/samples/2/5');
  });
});

describe('replays', () => {
  it("reads the API's Idempotent-Replayed header, named as the contracts name it", async () => {
    expect(REPLAYED_HEADER).toBe(IDEMPOTENT_REPLAYED_HEADER);
    const answer = (replayed: boolean) => (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(201, {
        'content-type': 'application/json',
        ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
      });
      res.end(JSON.stringify({ id: 'r1', status: 'QUEUED' }));
    };
    const server = scripted([answer(false), answer(true)]);
    const client = new TrainyardClient(await server.url());
    try {
      expect(await client.submitWithReplay({} as never, { idempotencyKey: 'k' })).toEqual({
        run: { id: 'r1', status: 'QUEUED' },
        replayed: false,
      });
      expect(await client.submitWithReplay({} as never, { idempotencyKey: 'k' })).toEqual({
        run: { id: 'r1', status: 'QUEUED' },
        replayed: true,
      });
    } finally {
      await server.close();
    }
  });
});
