import { Client } from 'pg';
import type { Page } from 'playwright-core';
import { MetricCompactionRepository, openDatabase } from '@trainyard/db';
import { startLiveDashboard, tinyShapesSpecs, type LiveDashboard } from './live-dashboard';

/**
 * The dashboard as a person reading a long run history meets it, in headless Chromium against a
 * live API and worker (real PostgreSQL and Redis): hundreds of runs, a compare link naming a
 * deleted run, a run deleted while its page is open, a diverged run's NaN and ±Infinity, and a
 * run whose metric points were compacted. The history is written straight into the database
 * (training hundreds of runs would take an hour). Needs `npm run build`.
 */
describe('dashboard over a long run history in Chromium', () => {
  let live: LiveDashboard;
  let baseUrl: string;
  let page: Page;
  let pg: Client;
  const pageErrors: string[] = [];
  const requests: { url: string; status: number }[] = [];
  const HISTORY = 400;
  const ids: Record<string, string> = {};

  const { pretrain } = tinyShapesSpecs(8, 2);

  /** A SUCCEEDED pretrain run recorded directly, `minutesAgo` old; its id. */
  const seedRun = async (name: string, minutesAgo: number): Promise<string> => {
    const { rows } = await pg.query<{ id: string }>(
      `INSERT INTO runs (id, kind, status, name, spec, created_at, updated_at, started_at, ended_at, backend)
       VALUES (gen_random_uuid(), 'PRETRAIN', 'SUCCEEDED', $1, $2::jsonb, now() - $3 * interval '1 minute', now(),
               now() - $3 * interval '1 minute', now() - $3 * interval '1 minute' + interval '40 seconds', 'wasm')
       RETURNING id::text`,
      [name, JSON.stringify(pretrain(name)), minutesAgo],
    );
    return rows[0]!.id;
  };
  /** Points of `name` for `runId`, one per step, `value` an SQL expression of the step `s`. */
  const seedPoints = (runId: string, name: string, from: number, to: number, value: string, every = 1) =>
    pg.query(
      `INSERT INTO metric_points (run_id, name, step, epoch, value, wall_time)
       SELECT $1::uuid, $2, s, s / 100, ${value}, now() FROM generate_series($3::int, $4::int, $5::int) s`,
      [runId, name, from, to, every],
    );

  beforeAll(async () => {
    live = await startLiveDashboard({ name: 'browser-history', viewport: { width: 1280, height: 800 } });
    ({ baseUrl, page } = live);
    pg = new Client({ connectionString: live.databaseUrl });
    await pg.connect();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => message.type() === 'error' && pageErrors.push(message.text()));
    page.on('response', (response) => requests.push({ url: response.url(), status: response.status() }));

    // The history: HISTORY runs a minute apart, each with a few epochs of loss and val_loss.
    const { rows } = await pg.query<{ id: string }>(
      `INSERT INTO runs (id, kind, status, name, spec, created_at, updated_at, started_at, ended_at, backend, tags)
       SELECT gen_random_uuid(), 'PRETRAIN', 'SUCCEEDED', 'history ' || lpad(i::text, 3, '0'), $1::jsonb,
              now() - (i + 10) * interval '1 minute', now(), now() - (i + 10) * interval '1 minute',
              now() - (i + 10) * interval '1 minute' + interval '30 seconds', 'wasm',
              CASE WHEN i % 7 = 0 THEN ARRAY['seventh'] ELSE ARRAY[]::text[] END
       FROM generate_series(1, ${HISTORY}) i RETURNING id::text`,
      [JSON.stringify(pretrain('history'))],
    );
    expect(rows.length).toBe(HISTORY);
    await pg.query(
      `INSERT INTO metric_points (run_id, name, step, epoch, value, wall_time)
       SELECT r.id, n, s, s, 1.0 / s + random(), now()
       FROM runs r, unnest(ARRAY['loss', 'val_loss']) n, generate_series(1, 3) s WHERE r.name LIKE 'history %'`,
    );

    // A run that diverged: a falling loss, then rising, +Infinity at step 150, NaN from 151.
    ids['diverged'] = await seedRun('diverged', 1);
    const diverging = `CASE WHEN s < 100 THEN 2.0 / (1 + s) WHEN s < 150 THEN exp((s - 100) / 5.0) WHEN s = 150 THEN 'Infinity'::float8 ELSE 'NaN'::float8 END`;
    await seedPoints(ids['diverged'], 'loss', 1, 200, diverging);
    await seedPoints(ids['diverged'], 'val_loss', 10, 200, diverging, 10);
    await seedPoints(ids['diverged'], 'accuracy', 1, 200, `CASE WHEN s < 140 THEN s / 200.0 ELSE 'NaN'::float8 END`);
    // One that was NaN from its first step, and one whose loss fell to -Infinity.
    ids['nan'] = await seedRun('nan from the start', 2);
    await seedPoints(ids['nan'], 'loss', 1, 50, `'NaN'::float8`);
    ids['neginf'] = await seedRun('minus infinity', 3);
    await seedPoints(ids['neginf'], 'loss', 1, 50, `CASE WHEN s < 40 THEN 1.0 / s ELSE '-Infinity'::float8 END`);

    // A long run, compacted as the reconciler does once it has ended long enough.
    ids['compacted'] = await seedRun('compacted', 4);
    await seedPoints(ids['compacted'], 'loss', 0, 4999, `1.0 / (1 + s / 500.0) + (s % 37) / 400.0`);
    await seedPoints(ids['compacted'], 'accuracy', 0, 4999, `0.5 + s / 10000.0`);
    await seedPoints(ids['compacted'], 'val_loss', 99, 4999, `1.0 / (1 + s / 500.0)`, 100);
    const database = await openDatabase({ url: live.databaseUrl, embeddedPath: '' }, { migrate: false });
    try {
      const outcome = await new MetricCompactionRepository(database.prisma).compactRun(
        ids['compacted'],
        new Date(Date.now() + 60_000),
        1_000_000,
      );
      expect(outcome.outcome).toBe('compacted');
      // Summaries as MetricsRepository keeps them (a NaN never the best, the max or the min unless all are).
      await pg.query(
        `INSERT INTO metric_summaries (run_id, name, goal, count, last, last_step, min, max, best, best_step)
         SELECT run_id, name, CASE WHEN name LIKE '%loss%' THEN 'min' ELSE 'max' END, count(*)::int4,
           (array_agg(value ORDER BY step DESC))[1], max(step),
           COALESCE(min(value) FILTER (WHERE value <> 'NaN'), min(value)),
           COALESCE(max(value) FILTER (WHERE value <> 'NaN'), max(value)),
           CASE WHEN name LIKE '%loss%' THEN COALESCE(min(value) FILTER (WHERE value <> 'NaN'), min(value))
             ELSE COALESCE(max(value) FILTER (WHERE value <> 'NaN'), max(value)) END,
           min(step)
         FROM run_metric_points GROUP BY run_id, name
         ON CONFLICT (run_id, name) DO NOTHING`,
      );
    } finally {
      await database.close();
    }

    await page.goto(`${baseUrl}/`);
    await live.signIn();
  }, 180_000);
  afterAll(async () => {
    await pg?.end();
    await live?.stop();
  });

  /** What the page asked for meanwhile, as "status path?query". */
  const asked = (filter: (url: URL) => boolean) =>
    requests.map((r) => ({ ...r, u: new URL(r.url) })).filter((r) => filter(r.u));

  it('keeps every row of a long history the reader loaded, and redraws two rows per key press, not all', async () => {
    requests.length = 0;
    const started = Date.now();
    await page.goto(`${baseUrl}/#/`);
    await page.locator('#runs-table tbody tr').nth(49).waitFor();
    const firstPageMs = Date.now() - started;
    const more = page.locator('button', { hasText: 'Load more' });
    const perPage: number[] = [];
    while (await more.isVisible()) {
      const shown = await page.locator('#runs-table tbody tr').count();
      const t = Date.now();
      await more.click();
      await page.locator('#runs-table tbody tr').nth(shown).waitFor();
      perPage.push(Date.now() - t);
      expect(perPage.length).toBeLessThan(20);
    }
    const rows = await page.locator('#runs-table tbody tr').count();
    expect(rows).toBeGreaterThanOrEqual(HISTORY);
    // One request a page, each for the next 50: no fan-out per row.
    const listReads = asked((u) => u.pathname === '/v1/runs');
    expect(listReads.length).toBeLessThanOrEqual(Math.ceil(rows / 50) + 2);
    expect(asked((u) => u.pathname.startsWith('/v1/runs/')).length).toBe(0);
    console.log(
      `${rows} runs: first page drawn in ${firstPageMs} ms, each further page in ${perPage.join(', ')} ms; ${listReads.length} list requests`,
    );

    // Past a 5-s refresh: the rows loaded stay, and the refresh reads nothing over them.
    requests.length = 0;
    await page.waitForTimeout(6_500);
    expect(await page.locator('#runs-table tbody tr').count()).toBe(rows);
    expect(asked((u) => u.pathname === '/v1/runs').length).toBe(0);

    // Moving through 400 rows: the rows stay the same elements (only two change class).
    const first = await page.locator('#runs-table tbody tr').first().elementHandle();
    const t = Date.now();
    for (let i = 0; i < 30; i++) await page.keyboard.press('j');
    const keysMs = Date.now() - t;
    expect(await page.locator('#runs-table tbody tr.selected').count()).toBe(1);
    expect(await page.locator('#runs-table tbody tr[aria-selected=true]').count()).toBe(1);
    expect(await page.locator('#runs-table tbody tr').nth(29).getAttribute('class')).toBe('selected');
    expect(await first!.evaluate((row) => row.isConnected)).toBe(true);
    console.log(`30 key presses over ${rows} rows: ${keysMs} ms`);

    // A filter starts again from its first page, which refreshes by itself (one request each time).
    const sorted = Date.now();
    await page.fill('input[list=sorts]', 'metric:val_loss:best');
    await page.locator('th.sorted-by').waitFor();
    await page.locator('#runs-table tbody tr').nth(50).waitFor({ state: 'detached' });
    console.log(`sorted by val_loss in ${Date.now() - sorted} ms`);
    requests.length = 0;
    await page.waitForTimeout(5_500);
    expect(asked((u) => u.pathname === '/v1/runs').length).toBeLessThanOrEqual(2);
    const searched = Date.now();
    await page.fill('#search', 'history 1');
    // Every row shown is one of history 100 to 199, still sorted by the metric.
    await page
      .locator('#runs-table tbody td:nth-child(4)')
      .filter({ hasNotText: /^history 1\d\d/ })
      .first()
      .waitFor({ state: 'detached' });
    console.log(`searched in ${Date.now() - searched} ms`);
    expect(await page.locator('#runs-table tbody tr').count()).toBe(50);
    expect(await page.locator('th.sorted-by').textContent()).toBe('val_loss (best)');
    await live.shot('history-list');
  }, 120_000);

  it('keeps Compare from asking for more runs than the API compares (20), saying why', async () => {
    await page.goto(`${baseUrl}/#/`);
    await page.locator('#runs-table tbody tr').nth(49).waitFor();
    const marks = page.locator('#runs-table tbody input[type=checkbox]');
    const compare = page.locator('button', { hasText: /^Compare \(/ });
    for (let i = 0; i < 20; i++) await marks.nth(i).check();
    expect(await compare.isEnabled()).toBe(true);
    await marks.nth(20).check();
    expect({ text: await compare.textContent(), enabled: await compare.isEnabled() }).toEqual({
      text: 'Compare (21)',
      enabled: false,
    });
    expect(await compare.getAttribute('title')).toMatch(/At most 20 runs/);
    await marks.nth(20).uncheck();
    expect(await compare.isEnabled()).toBe(true);
    for (let i = 0; i < 20; i++) await marks.nth(i).uncheck();
  });

  it('compares the runs a link names when one was deleted since, and names the one that is gone', async () => {
    const a = await seedRun('compare a', 5);
    const b = await seedRun('compare b', 6);
    const gone = await seedRun('compare gone', 7);
    for (const id of [a, b]) await seedPoints(id, 'loss', 1, 30, '1.0 / s');
    await live.client.deleteRun(gone);
    requests.length = 0;
    await page.goto(`${baseUrl}/#/compare?ids=${a},${gone},${b},${ids['diverged']}`);
    await page.locator('#app h1', { hasText: 'Compare 3 runs' }).waitFor();
    expect(await page.locator('#compare-gone').textContent()).toContain(gone);
    expect(await page.locator('#app table.compact tbody tr').count()).toBe(3);
    for (const name of ['compare a', 'compare b', 'diverged'])
      await page.locator('#app table.compact a', { hasText: name }).waitFor();
    expect(await page.locator('#compare-loss canvas').count()).toBe(1);
    // The comparison, then each run's presence, then the comparison of the others: bounded by the ids.
    expect(asked((u) => u.pathname.startsWith('/v1/')).length).toBeLessThanOrEqual(2 + 4);
    await live.shot('history-compare-gone');

    // Every run gone: said, with no table.
    await page.goto(`${baseUrl}/#/compare?ids=${gone}`);
    await page.locator('#compare-gone', { hasText: gone }).waitFor();
    expect(await page.locator('#app table').count()).toBe(0);
  }, 60_000);

  it('says a run was deleted while its page was open, then stops asking about it', async () => {
    const id = await seedRun('deleted while open', 8);
    await seedPoints(id, 'loss', 1, 20, '1.0 / s');
    await page.goto(`${baseUrl}/#/runs/${id}`);
    await page.locator('#run-status', { hasText: 'succeeded' }).waitFor();
    await page.locator('#chart-loss canvas').waitFor();
    pageErrors.length = 0;
    await live.client.deleteRun(id);
    const deleted = Date.now();
    await page.locator('#run-gone', { hasText: 'no longer recorded' }).waitFor({ timeout: 15_000 });
    console.log(`the page said the run is gone ${Date.now() - deleted} ms after it was deleted`);
    expect(await page.locator('#archive-run').isVisible()).toBe(false);
    // What it last read stays, under the notice.
    expect(await page.locator('#chart-loss canvas').count()).toBe(1);
    requests.length = 0;
    await page.waitForTimeout(12_000);
    // Neither by its id nor as the run list's idPrefix (how the page asks whether it is still there).
    expect(asked((u) => u.href.includes(id) || u.href.includes(id.replace(/-/g, '')))).toEqual([]);
    expect(pageErrors).toEqual([]);
    await live.shot('history-deleted-while-open');
  }, 60_000);

  it("draws a diverged run's finite points and says where it stopped being finite, never NaN", async () => {
    const expectations: Record<string, string[]> = {
      diverged: [
        'loss: 51 of 200 points not finite (NaN or ±∞) from step 150, not drawn.',
        'val_loss: 6 of 20 points not finite (NaN or ±∞) from step 150, not drawn.',
        'accuracy: 61 of 200 points not finite (NaN or ±∞) from step 140, not drawn.',
      ],
      nan: ['loss: 50 of 50 points not finite (NaN or ±∞) from step 1, not drawn.'],
      neginf: ['loss: 11 of 50 points not finite (NaN or ±∞) from step 40, not drawn.'],
    };
    for (const [key, notes] of Object.entries(expectations)) {
      pageErrors.length = 0;
      await page.goto(`${baseUrl}/#/runs/${ids[key]}`);
      await page.locator('#chart-loss canvas').waitFor();
      await page.locator('#chart-loss .chart-note:not([hidden])').waitFor();
      const shown = await page.locator('#app .chart-note:not([hidden])').allTextContents();
      expect(shown.join(' ')).toBe(notes.join(' '));
      const labels = await page
        .locator('#app canvas[role=img]')
        .evaluateAll((c) => c.map((e) => e.getAttribute('aria-label')));
      for (const label of labels) {
        expect(label).toContain('last not finite');
        expect(label).not.toMatch(/last —/);
      }
      expect(await page.locator('#app').innerText()).not.toMatch(/NaN(?! or ±∞)|Infinity|undefined/);
      expect(pageErrors).toEqual([]);
      await live.shot(`history-${key}`);
    }
    await page.goto(`${baseUrl}/#/compare?ids=${ids['diverged']},${ids['nan']},${ids['compacted']}`);
    await page.locator('#app h1', { hasText: 'Compare 3 runs' }).waitFor();
    await page.locator('#compare-loss .chart-note', { hasText: 'diverged' }).waitFor();
    expect(await page.locator('#app').innerText()).not.toMatch(/NaN(?! or ±∞)|Infinity|undefined/);
    await live.shot('history-compare-diverged');
  }, 60_000);

  it('says a summary that is not finite as such in the sorted column and the comparison, not as "—"', async () => {
    await page.goto(`${baseUrl}/#/?sort=metric:loss:last&order=desc`);
    await page.locator('th.sorted-by', { hasText: 'loss (last)' }).waitFor();
    // PostgreSQL orders NaN above every number: the runs whose last loss is NaN come first.
    const row = (name: string) => page.locator('#runs-table tbody tr', { has: page.getByRole('link', { name }) });
    for (const name of ['nan from the start', 'diverged'])
      expect(await row(name).locator('td.sorted-metric').textContent()).toBe('not finite');
    // Nowhere the NaN itself (JSON has none: formatNumber would only say it of a number computed here).
    expect(await page.locator('#runs-table tbody td.sorted-metric', { hasText: 'NaN' }).count()).toBe(0);
    await live.shot('history-sorted-not-finite');
    await page.goto(`${baseUrl}/#/compare?ids=${ids['nan']},${ids['diverged']}`);
    await page.locator('#app h1', { hasText: 'Compare 2 runs' }).waitFor();
    const cells = await page
      .locator('#app table.compact tbody tr', { hasText: 'nan from the start' })
      .locator('td.num')
      .allTextContents();
    // Duration, then best loss (every point NaN: not finite), val_loss, accuracy, val_accuracy (none recorded).
    expect(cells.slice(1)).toEqual(['not finite', '—', '—', '—']);
  }, 60_000);

  it("draws a compacted run's curves from the points kept, and says they were compacted", async () => {
    await page.goto(`${baseUrl}/#/runs/${ids['compacted']}`);
    await page.locator('#metrics-compacted').waitFor();
    await page.locator('#chart-loss canvas').waitFor();
    const points = await page.locator('#chart-loss').getAttribute('data-points');
    // loss keeps 4 points a 256-step block (20 blocks), val_loss every point (50): all drawn.
    expect(Number(points)).toBeGreaterThanOrEqual(75 + 50);
    const label = await page.locator('#chart-loss canvas').getAttribute('aria-label');
    expect(label).toMatch(/loss: \d+ points, steps 0 to 4999, last 0\.1\d*, lowest/);
    expect(await page.locator('#app .chart-note:not([hidden])').count()).toBe(0);
    await live.shot('history-compacted');
  }, 60_000);
});
