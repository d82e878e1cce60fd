/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies; the assertions check them */
import { randomUUID } from 'node:crypto';
import type { RunLogLine, RunLogPage } from '@trainyard/contracts';
import { RunsRepository } from '@trainyard/db';
import { serverSentEvents, type ServerSentEvent } from '@trainyard/db/testing';
import { runLogChunkKey, type ObjectStore } from '@trainyard/storage';
import { SseConnectionLimiter } from '../http/sse-connection.limiter';
import { silentClient } from '../testing/silent-client';
import { startTestApi, type TestApi } from '../testing/test-api';
import { OBJECT_STORE } from '@trainyard/infrastructure';

/** A run RUNNING in PostgreSQL, whose log the test writes itself, as the worker's RunLogWriter lays it out. */
async function createRunningRun(runs: RunsRepository): Promise<string> {
  const id = randomUUID();
  await runs.create({
    id,
    kind: 'PRETRAIN',
    name: 'logs',
    spec: { kind: 'pretrain', name: 'logs' } as never,
    baseRunId: null,
  });
  await runs.markRunning(id, 'cpu');
  return id;
}

/**
 * A run's log through the API, read from chunks in the (real, local-folder) object store laid out
 * exactly as the worker's RunLogWriter writes them: pages and cursors, attempts, follow mode over
 * SSE to the end of the run, and what the route refuses.
 */
describe('GET /v1/runs/:id/logs (PostgreSQL, Redis, object store, HTTP)', () => {
  let api: TestApi;
  let store: ObjectStore;
  let runs: RunsRepository;

  beforeAll(async () => {
    api = await startTestApi({ env: { SSE_MAX_PER_KEY: '2' } });
    store = api.app.get<ObjectStore>(OBJECT_STORE);
    runs = api.app.get(RunsRepository);
  });
  afterAll(() => api?.stop());

  const line = (runId: string, attempt: number, msg: string, source: RunLogLine['source'] = 'worker'): RunLogLine => ({
    t: new Date().toISOString(),
    level: 'log',
    source,
    attempt,
    jobId: runId,
    msg,
  });
  const putChunk = (runId: string, attempt: number, sequence: number, lines: RunLogLine[]) =>
    store.put(
      runLogChunkKey(runId, { attempt, sequence }),
      Buffer.from(lines.map((l) => `${JSON.stringify(l)}\n`).join('')),
    );

  const runningRun = () => createRunningRun(runs);
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await api.fetch(`${api.baseUrl}${path}`, { headers });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };

  it('returns every attempt’s lines in order, in pages that a cursor continues without repeating a line', async () => {
    const id = await runningRun();
    await putChunk(id, 1, 1, [line(id, 1, 'a1'), line(id, 1, 'a2')]);
    await putChunk(id, 1, 2, [line(id, 1, 'a3')]);
    await putChunk(id, 2, 1, [line(id, 2, 'b1'), line(id, 2, 'epoch 1/2 loss 0.5', 'stdout')]);
    // Something under the prefix that is not a chunk is not read.
    await store.put(`runs/${id}/logs/notes.txt`, Buffer.from('not a chunk'));

    const all = await get(`/v1/runs/${id}/logs`);
    expect(all.status).toBe(200);
    const page = all.body as RunLogPage;
    expect(page.lines.map((l) => l.msg)).toEqual(['a1', 'a2', 'a3', 'b1', 'epoch 1/2 loss 0.5']);
    expect(page.lines[4]).toMatchObject({ attempt: 2, source: 'stdout', jobId: id });
    expect(page.complete).toBe(false); // the run is still RUNNING

    const seen: string[] = [];
    let after: string | undefined;
    for (let i = 0; i < 10; i++) {
      const next = (await get(`/v1/runs/${id}/logs?limit=2${after ? `&after=${after}` : ''}`)).body as RunLogPage;
      seen.push(...next.lines.map((l) => l.msg));
      if (next.lines.length === 0) break;
      after = next.next;
    }
    expect(seen).toEqual(['a1', 'a2', 'a3', 'b1', 'epoch 1/2 loss 0.5']);

    expect(((await get(`/v1/runs/${id}/logs?attempt=2`)).body as RunLogPage).lines.map((l) => l.msg)).toEqual([
      'b1',
      'epoch 1/2 loss 0.5',
    ]);

    // The open chunk grows in place: reading on from `next` gives only the new line.
    await putChunk(id, 2, 1, [line(id, 2, 'b1'), line(id, 2, 'epoch 1/2 loss 0.5', 'stdout'), line(id, 2, 'b3')]);
    const more = (await get(`/v1/runs/${id}/logs?after=${page.next}`)).body as RunLogPage;
    expect(more.lines.map((l) => l.msg)).toEqual(['b3']);

    await runs.finish(id, 'SUCCEEDED');
    const done = (await get(`/v1/runs/${id}/logs?after=${more.next}`)).body as RunLogPage;
    expect(done).toEqual({ lines: [], next: more.next, complete: true });
  });

  it('a run with no log yet answers an empty page; an unknown run is a 404', async () => {
    const id = await runningRun();
    expect((await get(`/v1/runs/${id}/logs`)).body).toEqual({ lines: [], next: '0-0-0', complete: false });
    const unknown = randomUUID();
    expect((await get(`/v1/runs/${unknown}/logs`)).status).toBe(404);
    const follow = await api.fetch(`${api.baseUrl}/v1/runs/${unknown}/logs?follow=true`);
    expect(follow.status).toBe(404);
    expect(follow.headers.get('content-type')).toMatch(/json/);
  });

  it('follows a live run over SSE: the lines so far, then new ones, then `end` once the run has ended', async () => {
    const id = await runningRun();
    await putChunk(id, 1, 1, [line(id, 1, 'started')]);
    const controller = new AbortController();
    const res = await api.fetch(`${api.baseUrl}/v1/runs/${id}/logs?follow=true`, { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = serverSentEvents(res);
    const first = (await events.next()).value as ServerSentEvent;
    expect(first).toMatchObject({ event: 'line', id: expect.stringMatching(/^1-1-\d+$/) });
    expect(JSON.parse(first.data)).toMatchObject({ msg: 'started', attempt: 1 });

    await putChunk(id, 1, 1, [line(id, 1, 'started'), line(id, 1, 'epoch 1/1 loss 0.1', 'stdout')]);
    const second = (await events.next()).value as ServerSentEvent;
    expect(JSON.parse(second.data).msg).toBe('epoch 1/1 loss 0.1');

    await putChunk(id, 1, 2, [line(id, 1, 'run SUCCEEDED')]);
    await runs.finish(id, 'SUCCEEDED');
    const rest: ServerSentEvent[] = [];
    for await (const event of events) rest.push(event);
    expect(rest.map((e) => e.event)).toEqual(['line', 'end']);
    expect(JSON.parse(rest[0]!.data).msg).toBe('run SUCCEEDED');
    expect(JSON.parse(rest[1]!.data)).toEqual({ next: rest[0]!.id });

    // A reconnecting EventSource sends the last id it got: the stream resumes after that line.
    const resumed = await api.fetch(`${api.baseUrl}/v1/runs/${id}/logs`, {
      headers: { accept: 'text/event-stream', 'last-event-id': first.id! },
    });
    const again: ServerSentEvent[] = [];
    for await (const event of serverSentEvents(resumed)) again.push(event);
    expect(again.map((e) => (e.event === 'line' ? JSON.parse(e.data).msg : e.event))).toEqual([
      'epoch 1/1 loss 0.1',
      'run SUCCEEDED',
      'end',
    ]);
  });

  it('counts log streams against SSE_MAX_PER_KEY (429 before any byte) and gives the slot back on close', async () => {
    const id = await runningRun();
    const open = [new AbortController(), new AbortController()];
    for (const controller of open) {
      const res = await api.fetch(`${api.baseUrl}/v1/runs/${id}/logs?follow=true`, { signal: controller.signal });
      expect(res.status).toBe(200);
    }
    const refused = await api.fetch(`${api.baseUrl}/v1/runs/${id}/logs?follow=true`);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as any).message).toMatch(/SSE_MAX_PER_KEY=2/);
    open[0]!.abort();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const freed = new AbortController();
    expect((await api.fetch(`${api.baseUrl}/v1/runs/${id}/logs?follow=true`, { signal: freed.signal })).status).toBe(
      200,
    );
    freed.abort();
    open[1]!.abort();
  });

  it.each([
    ['limit=1000000000', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=0', 'limit'],
    ['limit=1e309', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['after=..%2F..%2Fetc%2Fpasswd', 'after'],
    ['after=1-1-0%2F..', 'after'],
    ['after=1-1-%00', 'after'],
    ['after=' + '9'.repeat(50), 'after'],
    ['attempt=-1', 'attempt'],
    ['attempt=__proto__', 'attempt'],
    ['follow=yes', 'follow'],
    ['__proto__=1', '__proto__'],
    ['constructor=1', 'constructor'],
    ['cursor=1-1-0', 'cursor'],
    ['msg=a%1Bb', 'msg'],
  ])('?%s is a 400 naming `%s`', async (query, field) => {
    const id = await runningRun();
    const reply = await get(`/v1/runs/${id}/logs?${query}`);
    expect(reply.status).toBe(400);
    expect((reply.body.errors as { field: string }[]).map((e) => e.field)).toContain(field);
  });

  it('a malformed Last-Event-ID on a stream is a 400 naming it, before any byte', async () => {
    const id = await runningRun();
    for (const value of ['../1', '1-1', 'x'.repeat(200), '1-1-1 2']) {
      const reply = await get(`/v1/runs/${id}/logs?follow=true`, { 'last-event-id': value });
      expect({
        value,
        status: reply.status,
        fields: [...new Set(reply.body.errors.map((e: { field: string }) => e.field))],
      }).toEqual({ value, status: 400, fields: ['Last-Event-ID'] });
    }
  });

  it('a forged offset inside a line resumes at the next whole line', async () => {
    const id = await runningRun();
    await putChunk(id, 1, 1, [line(id, 1, 'first'), line(id, 1, 'second')]);
    const page = (await get(`/v1/runs/${id}/logs?after=1-1-5`)).body as RunLogPage;
    expect(page.lines.map((l) => l.msg)).toEqual(['second']);
  });
});

describe('a followed log whose client takes nothing (PostgreSQL, Redis, object store, HTTP)', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ env: { SSE_MAX_PER_KEY: '1', STALLED_CLIENT_MS: '1500' } });
  });
  afterAll(() => api?.stop());

  it('is let go after STALLED_CLIENT_MS, giving its place back, rather than holding it for good', async () => {
    const id = await createRunningRun(api.app.get(RunsRepository));
    // 24 MB of lines: far more than the sockets' buffers hold for a client that reads nothing.
    const msg = 'x'.repeat(8000);
    const lines = Array.from({ length: 3000 }, () =>
      JSON.stringify({ t: new Date().toISOString(), level: 'log', source: 'stdout', attempt: 1, jobId: id, msg }),
    );
    await api.app
      .get<ObjectStore>(OBJECT_STORE)
      .put(runLogChunkKey(id, { attempt: 1, sequence: 1 }), Buffer.from(`${lines.join('\n')}\n`));
    const url = new URL(`${api.baseUrl}/v1/runs/${id}/logs?follow=true`);
    const socket = silentClient(url, api.authHeaders.authorization);
    const follow = () =>
      api.fetch(url.href).then((res) => {
        void res.body?.cancel();
        return res.status;
      });
    const limiter = api.app.get(SseConnectionLimiter);
    const waitForOpen = async (n: number) => {
      for (const deadline = Date.now() + 10_000; limiter.openStreams !== n;) {
        if (Date.now() > deadline) throw new Error(`${limiter.openStreams} streams open, not ${n}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      // The key's one place is held by the client that reads nothing…
      await waitForOpen(1);
      expect(await follow()).toBe(429);
      // …until it has taken nothing for 1.5 s: then the stream is ended and the place is free.
      await waitForOpen(0);
      const res = await api.fetch(url.href);
      expect(res.status).toBe(200);
      void res.body?.cancel();
    } finally {
      socket.destroy();
    }
  }, 30_000);
});
