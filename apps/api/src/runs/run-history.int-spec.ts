import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import type { RunSpecInput } from '@trainyard/contracts';
import { MetricsRepository, RunsRepository, type MetricPointInput } from '@trainyard/db';
import { startTestApi, type TestApi } from '../testing/test-api';

/**
 * The dashboard's read API over real HTTP against a fresh PostgreSQL and the real Redis: spec
 * filters, search, metric sorts across pages, spike-preserving downsampling (both the rollup and
 * the raw-points path), comparisons.
 */
describe('dashboard queries (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let app: INestApplication;
  let baseUrl: string;
  let runs: RunsRepository;
  let metrics: MetricsRepository;

  beforeAll(async () => {
    api = await startTestApi();
    ({ app, baseUrl } = api);
    runs = app.get(RunsRepository);
    metrics = app.get(MetricsRepository);
  });

  afterAll(async () => {
    await api?.stop();
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const get = async (path: string): Promise<{ status: number; body: any }> => {
    const response = await api.fetch(`${baseUrl}${path}`);
    return { status: response.status, body: await response.json() };
  };
  const submit = async (spec: RunSpecInput): Promise<string> => {
    const response = await api.fetch(`${baseUrl}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spec),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { id: string }).id;
  };
  const series = (name: string, values: number[], from = 0): MetricPointInput[] =>
    values.map((value, i) => ({ name, step: from + i, epoch: 0, value, wallTime: new Date(1_700_000_000_000 + i) }));
  const ids = (body: { items: { id: string }[] }) => body.items.map((item) => item.id);

  describe('GET /v1/runs', () => {
    const made: Record<string, string> = {};
    beforeAll(async () => {
      for (const [name, lr, acc] of [
        ['alpha cats', 0.001, 0.7],
        ['beta cats', 0.001, 0.9],
        ['gamma dogs', 0.01, 0.8],
        ['delta 100%_sure', 0.001, undefined],
      ] as const) {
        made[name] = await submit({
          kind: 'finetune',
          name,
          dataset: { name: 'synthetic-shapes' },
          training: { learningRate: lr },
        });
        if (acc !== undefined)
          await metrics.write(made[name]!, null, series('val_accuracy', [acc / 2, acc, acc - 0.05]));
      }
    });

    it('filters by spec fields through the JSON column, and by status and kind', async () => {
      const lr = await get('/v1/runs?spec.training.learningRate=1e-3&spec.model.type=classifier&limit=200');
      expect(lr.status).toBe(200);
      expect(ids(lr.body).sort()).toEqual([made['alpha cats'], made['beta cats'], made['delta 100%_sure']].sort());
      expect(
        (await get('/v1/runs?spec.training.learningRate=0.01&status=queued&kind=finetune')).body.items.map(
          (i: { name: string }) => i.name,
        ),
      ).toEqual(['gamma dogs']);
      expect((await get('/v1/runs?spec.training.learningRate=0.01&status=RUNNING')).body.items).toEqual([]);
    });

    it('searches names case-insensitively, taking % and _ literally', async () => {
      expect(ids((await get('/v1/runs?q=CATS')).body).sort()).toEqual([made['alpha cats'], made['beta cats']].sort());
      expect(ids((await get(`/v1/runs?q=${encodeURIComponent('100%_')}`)).body)).toEqual([made['delta 100%_sure']]);
      expect((await get(`/v1/runs?q=${encodeURIComponent('1_0')}`)).body.items).toEqual([]);
    });

    it('sorts by best val_accuracy, runs without it last, and pages through both with one cursor', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: { id: string; summaries: { best: number }[] }[]; nextCursor: string | null } } =
          await get(
            `/v1/runs?spec.training.learningRate=0.001&sort=metric:val_accuracy:best&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
          );
        seen.push(...ids(page.body));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual([made['beta cats'], made['alpha cats'], made['delta 100%_sure']]);
      const asc = await get('/v1/runs?q=s&sort=metric:val_accuracy:last&order=asc');
      expect(ids(asc.body)).toEqual([
        made['alpha cats'],
        made['gamma dogs'],
        made['beta cats'],
        made['delta 100%_sure'],
      ]);
      expect(asc.body.items[0]).toMatchObject({
        baseRunName: null,
        summaries: [expect.objectContaining({ name: 'val_accuracy', last: expect.closeTo(0.65, 9) })],
      });
      expect(asc.body.items[0].spec).toBeUndefined();
    });

    it('answers 400 naming the bad parameter', async () => {
      for (const [query, field] of [
        ['spec.training..lr=1', 'spec.training..lr'],
        ['spec.x=1&spec.x=2', 'spec.x'],
        ['sort=metric:loss', 'sort'],
        ['stauts=QUEUED', 'stauts'],
        ['cursor=garbage', 'cursor'],
      ]) {
        const res = await get(`/v1/runs?${query}`);
        expect({ query, status: res.status, fields: res.body.errors?.map((e: { field: string }) => e.field) }).toEqual({
          query,
          status: 400,
          fields: [field],
        });
      }
      const cursor = (await get('/v1/runs?limit=1')).body.nextCursor;
      expect((await get(`/v1/runs?sort=metric:loss:best&cursor=${cursor}`)).body.errors[0].message).toMatch(
        /belongs to sort/,
      );
    });
  });

  describe('GET /v1/runs/:id/metrics and /series', () => {
    let runId: string;
    const total = 100_000;
    const spikeAt = 61_234;
    beforeAll(async () => {
      runId = await submit({ kind: 'pretrain', name: 'long', dataset: { name: 'synthetic-shapes' } });
      const values = Array.from({ length: total }, (_, i) => 1 / (1 + i / 1000) + 0.001 * Math.sin(i));
      values[spikeAt] = 50;
      for (let i = 0; i < total; i += 20_000)
        await metrics.write(runId, null, series('loss', values.slice(i, i + 20_000), i));
      await metrics.write(
        runId,
        null,
        series(
          'val_loss',
          values.slice(0, 3000).map((v, i) => (i === 1500 ? -7 : v)),
        ),
      );
    }, 120_000);

    it('keeps the single spike, the first and the last point in at most maxPoints points (rollup path)', async () => {
      const res = await get(`/v1/runs/${runId}/metrics?names=loss&maxPoints=200`);
      expect(res.status).toBe(200);
      const points = res.body.points as { step: number; value: number; name: string }[];
      expect(points.length).toBeLessThanOrEqual(200);
      expect(points.length).toBeGreaterThan(150);
      expect(points.find((p) => p.step === spikeAt)?.value).toBe(50);
      expect(points[0]!.step).toBe(0);
      expect(points[points.length - 1]!.step).toBe(total - 1);
      expect(points.map((p) => p.step)).toEqual([...points.map((p) => p.step)].sort((a, b) => a - b));
    });

    it('keeps a downward spike when buckets are narrower than a rollup block (raw path)', async () => {
      const res = await get(`/v1/runs/${runId}/series?names=val_loss,loss&maxPoints=100`);
      const valLoss = res.body.series.find((s: { name: string }) => s.name === 'val_loss');
      expect(valLoss.total).toBe(3000);
      expect(valLoss.points.length).toBeLessThanOrEqual(100);
      expect(valLoss.points.find((p: { step: number }) => p.step === 1500)?.value).toBe(-7);
      expect(res.body.series.map((s: { name: string }) => s.name)).toEqual(['loss', 'val_loss']);
    });

    it('forgets a superseded spike: rollups follow upserts', async () => {
      await metrics.write(runId, null, series('loss', [0.5], spikeAt));
      const points = (await get(`/v1/runs/${runId}/metrics?names=loss&maxPoints=200`)).body.points as {
        step: number;
        value: number;
      }[];
      expect(Math.max(...points.map((p) => p.value))).toBeLessThan(2);
      await metrics.write(runId, null, series('loss', [50], spikeAt));
    });

    it('returns every point without maxPoints, and 404/400 for unknown runs and bad parameters', async () => {
      expect((await get(`/v1/runs/${runId}/metrics?name=val_loss`)).body.points).toHaveLength(3000);
      expect((await get(`/v1/runs/${randomUUID()}/metrics`)).status).toBe(404);
      expect((await get(`/v1/runs/${randomUUID()}/series`)).status).toBe(404);
      expect((await get(`/v1/runs/${runId}/metrics?maxPoints=3`)).body.errors[0].field).toBe('maxPoints');
    });

    it('compares runs: list rows, summaries and downsampled series of each, in the order asked', async () => {
      const other = await submit({ kind: 'pretrain', name: 'short', dataset: { name: 'synthetic-shapes' } });
      await metrics.write(other, null, series('loss', [3, 2, 1]));
      const res = await get(`/v1/runs/compare?ids=${other},${runId}&names=loss&maxPoints=50`);
      expect(res.status).toBe(200);
      expect(res.body.runs.map((r: { run: { id: string } }) => r.run.id)).toEqual([other, runId]);
      expect(res.body.runs[0].series[0]).toMatchObject({ name: 'loss', total: 3 });
      expect(res.body.runs[1].series[0].total).toBe(total);
      expect(res.body.runs[1].series[0].points.length).toBeLessThanOrEqual(50);
      expect(res.body.runs[1].run.summaries).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'loss', max: 50 })]),
      );
      expect((await get(`/v1/runs/compare?ids=${randomUUID()}`)).status).toBe(404);
      expect((await get('/v1/runs/compare?ids=nope')).status).toBe(400);
      // One run named twenty times in other cases is compared once, not answered twenty times over.
      const spellings = Array.from({ length: 20 }, (_, i) =>
        [...other].map((c, j) => ((i >> (j % 5)) & 1 ? c.toUpperCase() : c)).join(''),
      );
      const once = await get(`/v1/runs/compare?ids=${spellings.join(',')}&names=loss`);
      expect(once.status).toBe(200);
      expect(once.body.runs.map((r: { run: { id: string } }) => r.run.id)).toEqual([other]);
    });
  });

  it('reads runs it did not list (markRunning) with their backend', async () => {
    const id = await submit({ kind: 'pretrain', name: 'on-wasm', dataset: { name: 'synthetic-shapes' } });
    await runs.markRunning(id, 'wasm');
    expect((await get('/v1/runs?status=RUNNING')).body.items).toEqual([
      expect.objectContaining({ id, backend: 'wasm' }),
    ]);
  });
});
