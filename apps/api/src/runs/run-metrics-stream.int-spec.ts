import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { INestApplication } from '@nestjs/common';
import { MetricsRepository, type MetricPointInput } from '@trainyard/db';
import { silentClient } from '../testing/silent-client';
import { startTestApi, type TestApi } from '../testing/test-api';
import { METRIC_POINTS_PAGE } from './run-history.service';

/**
 * `GET /v1/runs/:id/metrics` without maxPoints over real HTTP, PostgreSQL and Redis: every point,
 * streamed as it is read in keyset pages of METRIC_POINTS_PAGE, the body the same bytes as the
 * whole-document answer; a client that goes stops the reads; errors come before any byte or cut
 * the body short.
 */
describe('GET /v1/runs/:id/metrics, streamed (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let app: INestApplication;
  let metrics: MetricsRepository;
  let runId: string;
  let pageRead: jest.SpyInstance<
    ReturnType<MetricsRepository['seriesPage']>,
    Parameters<MetricsRepository['seriesPage']>
  >;
  // Series of a full page exactly, of more than one page, of less than one, and a NaN; names in the
  // same order whatever the database's collation.
  const sizes = { accuracy: METRIC_POINTS_PAGE, loss: METRIC_POINTS_PAGE + 4000, val_loss: 3, ψ_norm: 1 };

  beforeAll(async () => {
    api = await startTestApi();
    app = api.app;
    metrics = app.get(MetricsRepository);
    runId = await api.submitPretrain('streamed');
    for (const [name, count] of Object.entries(sizes)) {
      const points: MetricPointInput[] = Array.from({ length: count }, (_, step) => ({
        name,
        step,
        epoch: Math.floor(step / 100),
        value: name === 'val_loss' && step === 1 ? NaN : 1 / (1 + step),
        wallTime: new Date(1_700_000_000_000 + step),
      }));
      await metrics.write(runId, null, points);
    }
    // Another run's points, which no page of this one may pick up.
    await metrics.write(await api.submitPretrain('other'), null, [
      { name: 'loss', step: 5, epoch: 0, value: 9, wallTime: new Date() },
    ]);
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
  });

  beforeEach(() => {
    pageRead = jest.spyOn(metrics, 'seriesPage');
  });
  afterEach(() => {
    pageRead.mockRestore();
  });

  const url = (query = '', id = runId) => `${api.baseUrl}/v1/runs/${id}/metrics${query}`;
  const pagesRead = () => pageRead.mock.calls.map(([, name, after, limit]) => [name, after, limit]);

  it('answers every point, by name then step, byte for byte the whole document, read a page at a time', async () => {
    // The oracle: with maxPoints above every series' size, the whole series, answered by Express's res.json.
    const whole = await (await api.fetch(url('?maxPoints=10000'))).text();
    pageRead.mockClear();

    const res = await api.fetch(url());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(res.headers.get('content-length')).toBeNull();
    const text = await res.text();
    expect(text).toBe(whole);

    const body = JSON.parse(text) as { runId: string; points: { name: string; step: number; value: number | null }[] };
    expect(Object.keys(body)).toEqual(['runId', 'points']);
    expect(body.runId).toBe(runId);
    const expected = Object.entries(sizes).flatMap(([name, count]) =>
      Array.from({ length: count }, (_, step) => `${name}@${step}`),
    );
    expect(body.points.map((p) => `${p.name}@${p.step}`)).toEqual(expected);
    expect(body.points.find((p) => p.name === 'val_loss' && p.step === 1)!.value).toBeNull();
    expect(body.points.find((p) => p.name === 'loss' && p.step === 7000)!.value).toBe(1 / 7001);

    // The evidence: one keyset page after another, never more than a page at a time.
    expect(pagesRead()).toEqual([
      ['accuracy', null, METRIC_POINTS_PAGE],
      ['accuracy', METRIC_POINTS_PAGE - 1, METRIC_POINTS_PAGE], // a full page: read once more to find the end
      ['loss', null, METRIC_POINTS_PAGE],
      ['loss', METRIC_POINTS_PAGE - 1, METRIC_POINTS_PAGE],
      ['val_loss', null, METRIC_POINTS_PAGE],
      ['ψ_norm', null, METRIC_POINTS_PAGE],
    ]);
    const pageSizes = await Promise.all(pageRead.mock.results.map(async (r) => (await r.value).length));
    expect(pageSizes).toEqual([METRIC_POINTS_PAGE, 0, METRIC_POINTS_PAGE, 4000, 3, 1]);
  });

  it('streams only the names asked for, and an empty list for a run without points', async () => {
    for (const query of ['?names=val_loss,loss,nope', '?name=accuracy']) {
      const whole = await (await api.fetch(url(`${query}&maxPoints=10000`))).text();
      expect(await (await api.fetch(url(query))).text()).toBe(whole);
    }
    const empty = await api.submitPretrain('empty');
    expect(await (await api.fetch(url('', empty))).text()).toBe(`{"runId":"${empty}","points":[]}`);
  });

  it('answers 404 for an unknown run and 400 for a bad parameter before reading or sending any point', async () => {
    const missing = randomUUID();
    const unknown = await api.fetch(url('', missing));
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await unknown.json()) as { detail: string }).detail).toBe(`No run with id ${missing}`);
    for (const [query, field] of [
      ['?maxPoints=3', 'maxPoints'],
      ['?names=', 'names'],
      ['?nmes=loss', 'nmes'],
    ]) {
      const bad = await api.fetch(url(query));
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { errors: { field: string }[] }).errors[0]!.field).toBe(field);
    }
    expect(pageRead).not.toHaveBeenCalled();
  });

  it('stops reading pages once the client goes mid-body', async () => {
    const abort = new AbortController();
    // The server's side of the request: its answer's close is when the reads must stop.
    const answerClosed = new Promise<void>((resolve) =>
      api.app
        .getHttpServer()
        .once('request', (_req: IncomingMessage, res: ServerResponse) => res.once('close', resolve)),
    );
    const original = MetricsRepository.prototype.seriesPage;
    pageRead.mockImplementation(async function (this: MetricsRepository, ...args) {
      // The second page is asked for while the first is on its way: hold it until the answer has closed.
      if (pageRead.mock.calls.length === 2) await answerClosed;
      return original.apply(this, args);
    });
    const res = await api.fetch(url(), { signal: abort.signal });
    const first = await res.body!.getReader().read();
    expect(Buffer.from(first.value!).toString('utf8')).toMatch(new RegExp(`^\\{"runId":"${runId}","points":\\[\\{`));
    abort.abort();
    await answerClosed;
    await sleep(1000);
    // The held page was the last one read: six make the whole body.
    expect(pagesRead()).toEqual([
      ['accuracy', null, METRIC_POINTS_PAGE],
      ['accuracy', METRIC_POINTS_PAGE - 1, METRIC_POINTS_PAGE],
    ]);
    expect((await api.fetch(url('?name=val_loss'))).status).toBe(200);
  });

  it('cuts the body short, never valid JSON, when a page fails mid-body', async () => {
    const original = MetricsRepository.prototype.seriesPage;
    pageRead.mockImplementation(async function (this: MetricsRepository, ...args) {
      if (pageRead.mock.calls.length === 3) throw new Error('the database went away');
      return original.apply(this, args);
    });
    const res = await api.fetch(url());
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow(/terminated/);
    expect(pageRead).toHaveBeenCalledTimes(3);
    pageRead.mockRestore();
    expect(JSON.parse(await (await api.fetch(url('?name=val_loss'))).text()).points).toHaveLength(3);
  });

  it('answers a failing first page with a problem, before any byte', async () => {
    pageRead.mockRejectedValueOnce(new Error('the database went away'));
    const res = await api.fetch(url());
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('answers HEAD without reading a point, and keeps the whole-document answer (length, ETag, 304) with maxPoints', async () => {
    const head = await api.fetch(url(), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(pageRead).not.toHaveBeenCalled();

    const small = await api.fetch(url('?maxPoints=100'));
    expect(small.headers.get('content-length')).toBe(String(Buffer.byteLength(await small.text())));
    const etag = small.headers.get('etag');
    expect(etag).toBeTruthy();
    // fetch adds `cache-control: no-cache` to a conditional request (which Express answers whole) unless given one.
    const conditional = { 'if-none-match': etag!, 'cache-control': 'max-age=0' };
    expect((await api.fetch(url('?maxPoints=100'), { headers: conditional })).status).toBe(304);
  });
});

/** `count` points of `loss` (80,000 are ~7 MB of JSON: more than the sockets' buffers take for a client that reads nothing). */
async function writeLossPoints(metrics: MetricsRepository, runId: string, count: number): Promise<void> {
  for (let from = 0; from < count; from += 10_000)
    await metrics.write(
      runId,
      null,
      Array.from({ length: Math.min(10_000, count - from) }, (_, i) => ({
        name: 'loss',
        step: from + i,
        epoch: 0,
        value: 1 / (1 + from + i),
        wallTime: new Date(1_700_000_000_000 + from + i),
      })),
    );
}

describe('GET /v1/runs/:id/metrics to a client that takes nothing (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ env: { STALLED_CLIENT_MS: '1000' } });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('is let go after STALLED_CLIENT_MS: the answer ends and no more pages are read for it', async () => {
    const metrics = api.app.get(MetricsRepository);
    const runId = await api.submitPretrain('never read');
    await writeLossPoints(metrics, runId, 80_000);
    const pageRead = jest.spyOn(metrics, 'seriesPage');
    const closed = new Promise<void>((resolve) =>
      api.app.getHttpServer().on('request', (req: IncomingMessage, res: ServerResponse) => {
        if (req.url?.includes(`/runs/${runId}/metrics`)) res.on('close', resolve);
      }),
    );
    const url = new URL(`${api.baseUrl}/v1/runs/${runId}/metrics`);
    const socket = silentClient(url, api.authHeaders.authorization);
    try {
      // The client still holds its connection and reads nothing: only the stall deadline ends the answer.
      await closed;
      const read = pageRead.mock.calls.length;
      expect(read).toBeLessThan(80_000 / METRIC_POINTS_PAGE);
      await sleep(1500);
      expect(pageRead.mock.calls.length).toBe(read);
    } finally {
      socket.destroy();
      pageRead.mockRestore();
    }
  }, 60_000);
});

describe('GET /v1/runs/:id/metrics held open (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ env: { SSE_MAX_PER_KEY: '2' } });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("takes one of its key's stream places (SSE_MAX_PER_KEY) while it is open, and gives it back", async () => {
    // Before, nothing counted them: a key could hold any number open, a page of points waiting in each.
    const metrics = api.app.get(MetricsRepository);
    const runId = await api.submitPretrain('held open');
    await writeLossPoints(metrics, runId, 80_000);
    const url = new URL(`${api.baseUrl}/v1/runs/${runId}/metrics`);
    const sockets = [
      silentClient(url, api.authHeaders.authorization),
      silentClient(url, api.authHeaders.authorization),
    ];
    try {
      let refused: Response | undefined;
      for (let tries = 0; tries < 50 && refused?.status !== 429; tries++) {
        await sleep(100);
        refused = await api.fetch(url.href, { method: 'GET' });
        if (refused.status !== 429) await refused.body?.cancel();
      }
      expect(refused!.status).toBe(429);
      expect(((await refused!.json()) as { message: string }).message).toContain('SSE_MAX_PER_KEY=2');
      // With maxPoints the answer is whole and short: no place is taken.
      expect((await api.fetch(`${url.href}?maxPoints=100`)).status).toBe(200);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    await sleep(300);
    const again = await api.fetch(`${url.href}?names=loss`);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { points: unknown[] }).points).toHaveLength(80_000);
  }, 60_000);
});
