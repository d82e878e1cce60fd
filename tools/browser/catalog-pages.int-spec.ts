import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { waitFor } from '../e2e/processes';
import { startLiveDashboard, tinyShapesSpecs, type LiveDashboard } from './live-dashboard';

/**
 * The pipelines, sweeps, models and datasets pages in headless Chromium against a live API and
 * worker (separate processes, real PostgreSQL and Redis) training tiny synthetic runs: a
 * pipeline's steps as a graph that follows their status and a Cancel button that stops one, a
 * sweep's leaderboard and parameter charts, the models with the run that made each version, a
 * dataset's class counts and sample images, evaluations' test accuracy in the runs table, and a
 * checkpoint's archive link. Needs `npm run build` (dist/ and dist/dashboard). Screenshots land
 * in test-artifacts/browser/.
 */
describe('dashboard pages for pipelines, sweeps, models and datasets in Chromium', () => {
  let live: LiveDashboard;
  let baseUrl: string;
  let page: Page;
  const ids: Record<string, string> = {};

  const { pretrain, finetune } = tinyShapesSpecs(24, 6);
  const shot = (name: string) => live.shot(name);
  const logs = () => live.logs();

  beforeAll(async () => {
    live = await startLiveDashboard({
      name: 'browser-catalog',
      viewport: { width: 1280, height: 900 },
      localRoots: true,
    });
    ({ baseUrl, page } = live);
    await page.goto(`${baseUrl}/`);
    await live.signIn();
  }, 120_000);

  afterAll(async () => {
    await live?.stop();
  });

  it("draws a pipeline's steps as a graph that follows their status to the end, with the evaluation's test accuracy", async () => {
    const pipeline = await live.client.submitPipeline({
      name: 'browser pipeline',
      pretrain: pretrain('browser ae'),
      finetunes: [finetune('browser ft')],
      evaluations: [{ split: 'test' }],
    });
    ids['pipeline'] = pipeline.id;
    await page.goto(`${baseUrl}/#/pipelines`);
    await page.locator(`#pipelines-table tr[data-id="${pipeline.id}"] a`).click();
    await page.waitForURL(`**/#/pipelines/${pipeline.id}`);
    // Three boxes, two arrows: pretrain → fine-tune → evaluation; the later ones held at first.
    await page.locator('#pipeline-graph .step').nth(2).waitFor();
    expect(await page.locator('#pipeline-graph .edge').count()).toBe(2);
    await shot('pipeline-running');
    await waitFor(
      'the pipeline to succeed',
      async () => ((await live.client.pipeline(pipeline.id)).status === 'SUCCEEDED' ? true : undefined),
      300_000,
      logs,
    );
    // The page refreshes by itself: every box ends succeeded, the evaluation's with its accuracy.
    await page.locator('#pipeline-status', { hasText: 'succeeded' }).waitFor({ timeout: 15_000 });
    expect(
      await page
        .locator('#pipeline-graph .step')
        .evaluateAll((steps) => steps.map((s) => s.getAttribute('data-status'))),
    ).toEqual(['succeeded', 'succeeded', 'succeeded']);
    await page.locator('#pipeline-graph .step.succeeded .step-status', { hasText: /test acc \d/ }).waitFor();
    expect(await page.locator('#cancel-pipeline').isDisabled()).toBe(true);
    await shot('pipeline-succeeded');

    // The runs table shows the evaluation's test accuracy where others show a validation metric.
    const { runs } = await live.client.pipeline(pipeline.id);
    const evaluation = runs.find((r) => r.kind === 'EVALUATE')!;
    const accuracy = (evaluation.result as { accuracy: number }).accuracy;
    ids['finetune'] = runs.find((r) => r.kind === 'FINETUNE')!.id;
    await page.goto(`${baseUrl}/`);
    const cell = page.locator(`#runs-table tr[data-id="${evaluation.id}"] td.test-accuracy`);
    await cell.waitFor();
    expect(await cell.textContent()).toBe(`${Number(accuracy.toPrecision(4))} test acc`);
  }, 360_000);

  it('cancels a running pipeline from its page: every step not ended is cancelled', async () => {
    const pipeline = await live.client.submitPipeline({
      name: 'browser cancelled',
      pretrain: pretrain('browser long ae', 200),
      finetunes: [finetune('browser never ft')],
    });
    await page.goto(`${baseUrl}/#/pipelines/${pipeline.id}`);
    await page.locator('#pipeline-status', { hasText: 'running' }).waitFor();
    await page.click('#cancel-pipeline');
    await page.click('#confirm-cancel-pipeline');
    await page.locator('#pipeline-status', { hasText: 'cancelled' }).waitFor();
    // The held fine-tune never starts; the pretrain is cancelled now (queued) or between batches (running).
    await page.locator('#pipeline-graph .step.cancelled').nth(1).waitFor({ timeout: 60_000 });
    expect((await live.client.pipeline(pipeline.id)).status).toBe('CANCELLED');
    await shot('pipeline-cancelled');

    // The fine-tune that never started: its page says it was cancelled, not that it waits or loads.
    const { runs } = await live.client.pipeline(pipeline.id);
    const never = runs.find((r) => r.kind === 'FINETUNE')!;
    await page.goto(`${baseUrl}/#/runs/${never.id}`);
    await page.locator('#run-status', { hasText: 'cancelled' }).waitFor();
    await page.locator('#no-curves').waitFor();
    expect(await page.locator('#progress-facts').textContent()).toMatch(
      /^cancelled before it started · ended \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/,
    );
    expect(await page.locator('#evaluation-note').textContent()).toBe(
      'None: the run was cancelled before it was evaluated.',
    );
    expect(await page.locator('[role=progressbar]').count()).toBe(0);
  }, 90_000);

  it("shows a sweep's leaderboard and a chart of each parameter against the metric", async () => {
    const sweep = await live.client.submitSweep({
      name: 'browser sweep',
      base: finetune('browser sweep'),
      strategy: 'grid',
      parameters: { 'training.learningRate': [0.0003, 0.03], 'model.dropout': [0, 0.3] },
      metric: 'test/accuracy',
    });
    await waitFor(
      'the sweep to finish',
      async () => {
        const view = await live.client.sweep(sweep.id);
        return view.leaderboard.every((e) => e.status === 'SUCCEEDED') ? true : undefined;
      },
      300_000,
      logs,
    );
    await page.goto(`${baseUrl}/#/sweeps`);
    await page.locator(`#sweeps-table tr[data-id="${sweep.id}"] a`).click();
    await page.waitForURL(`**/#/sweeps/${sweep.id}`);
    await page.locator('#leaderboard tbody tr').nth(3).waitFor();
    const ranks = await page.locator('#leaderboard tbody tr td:first-child').allTextContents();
    // The API's ranks as they are (equal accuracies share one: tiny runs often tie).
    const board = (await live.client.sweep(sweep.id)).leaderboard;
    expect(ranks).toEqual(board.map((e) => String(e.rank)));
    expect(board.map((e) => e.rank)).toEqual(board.map((e) => 1 + board.filter((o) => o.value! > e.value!).length));
    // One chart per parameter, a dot per run, each linked to its run.
    expect(await page.locator('#sweep-charts .scatter-box').count()).toBe(2);
    expect(await page.locator('#sweep-charts .scatter-box').first().getAttribute('data-points')).toBe('4');
    expect(await page.locator('#sweep-charts circle.dot').count()).toBe(8);
    // A learning rate's axis in one notation (it read "3.00e-4" beside "0.03"), and each chart told in words.
    const rates = page.locator('#sweep-charts .scatter-box', {
      has: page.locator('svg[aria-label^="training.learningRate "]'),
    });
    expect((await rates.locator('text.tick').allTextContents()).slice(0, 2)).toEqual(['3e-4', '3e-2']);
    expect(await rates.locator('svg').getAttribute('aria-label')).toMatch(
      /^training\.learningRate against test\/accuracy: 4 runs, training\.learningRate from 3e-4 to 3e-2, test\/accuracy from \S+ to \S+\.$/,
    );
    // Nothing left to cancel.
    expect(await page.locator('#cancel-sweep').isDisabled()).toBe(true);
    await shot('sweep');
    await page.locator('#sweep-charts a').first().click();
    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
  }, 360_000);

  it("cancels a sweep's runs from its page: waiting ones at once, the running one between batches", async () => {
    const sweep = await live.client.submitSweep({
      name: 'browser cancelled sweep',
      base: { ...finetune('browser long ft'), training: { epochs: 200, batchSize: 16, seed: 1 } },
      strategy: 'grid',
      parameters: { 'training.learningRate': [0.0003, 0.001, 0.003] },
      metric: 'test/accuracy',
    });
    await page.goto(`${baseUrl}/#/sweeps/${sweep.id}`);
    await page
      .locator('#sweep-counts', { hasText: '3 queued' })
      .or(page.locator('#sweep-counts', { hasText: 'running' }))
      .waitFor();
    await page.click('#cancel-sweep');
    await page.click('#confirm-cancel-sweep');
    await page.locator('#sweep-message', { hasText: 'Cancelled' }).waitFor();
    // The page follows the running one until it has stopped.
    await page.locator('#sweep-counts', { hasText: '3 cancelled' }).waitFor({ timeout: 60_000 });
    expect((await live.client.sweep(sweep.id)).counts).toEqual({ CANCELLED: 3 });
    expect(await page.locator('#cancel-sweep').isDisabled()).toBe(true);
    await shot('sweep-cancelled');
  }, 90_000);

  it('lists registered models with a link to the run that made each version, and offers the checkpoint as one archive', async () => {
    await live.client.registerModel('browser-model', ids['finetune']!);
    await page.goto(`${baseUrl}/#/models`);
    const link = page.locator('#models .model[data-model="browser-model"] a.version-run');
    await link.waitFor();
    expect(await link.textContent()).toBe(ids['finetune']);
    await shot('models');
    await link.click();
    await page.waitForURL(`**/#/runs/${ids['finetune']}`);
    const archive = page.locator('a.archive-link').first();
    await archive.waitFor();
    const href = (await archive.getAttribute('href'))!;
    expect(href).toMatch(new RegExp(`^/v1/runs/${ids['finetune']}/checkpoints/\\d+/archive$`));
    // With the page's session cookie, as a click would send it.
    const res = await page.request.get(`${baseUrl}${href}`);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toBe('application/x-tar');
    expect((await res.body()).length).toBe(Number(res.headers()['content-length']));
  }, 60_000);

  it("shows a dataset's class counts and sample images", async () => {
    const folder = join(live.roots!, 'tiles');
    const shades: Record<string, number[]> = { dark: [10, 30, 50], light: [200, 220] };
    for (const [cls, values] of Object.entries(shades)) {
      mkdirSync(join(folder, cls), { recursive: true });
      for (const [i, v] of values.entries()) {
        const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: v, g: v, b: v } } })
          .png()
          .toBuffer();
        writeFileSync(join(folder, cls, `${i}.png`), png);
      }
    }
    const dataset = await live.client.registerDataset('tiles', { kind: 'local', path: folder });
    // 50 newer ones fill the page's first page (50 rows): tiles is on the second.
    for (let i = 0; i < 50; i++) await live.client.registerDataset(`tiles-${i}`, { kind: 'local', path: folder });
    await page.goto(`${baseUrl}/#/datasets`);
    await page.locator('#datasets-table tr[data-id]').nth(49).waitFor();
    expect(await page.locator(`#datasets-table tr[data-id="${dataset.id}"]`).count()).toBe(0);
    await page.getByRole('button', { name: 'Load more' }).click();
    const row = page.locator(`#datasets-table tr[data-id="${dataset.id}"]`);
    // Its classes counted, their names on hover.
    expect(await row.locator('td:nth-child(2)').textContent()).toBe('2');
    expect(await row.locator('td:nth-child(2)').getAttribute('title')).toBe('dark, light');
    await row.locator('a').click();
    await page.waitForURL(`**/#/datasets/${dataset.id}`);
    await page.locator('#dataset-detail tr[data-class="dark"]').waitFor();
    // Opened by its address, the dataset is shown though its row is on a page not loaded.
    await page.goto(`${baseUrl}/`);
    await page.goto(`${baseUrl}/#/datasets/${dataset.id}`);
    await page.locator('#dataset-detail tr[data-class="dark"]').waitFor();
    expect(await page.locator('#dataset-detail tbody tr td:nth-child(2)').allTextContents()).toEqual(['3', '2']);
    await waitFor(
      'the sample images to load',
      async () => {
        const loaded = await page
          .locator('#dataset-detail img.sample')
          .evaluateAll(
            (imgs) => imgs.filter((img) => (img as unknown as { naturalWidth: number }).naturalWidth === 8).length,
          );
        return loaded === 5 ? true : undefined;
      },
      15_000,
    );
    await shot('dataset');
    expect(live.cspViolations).toEqual([]);
  }, 60_000);

  it('shows a run that failed as ended, how and where, and asks for nothing it will never have', async () => {
    // A class whose only image is unreadable: the run fails while loading its data.
    const folder = join(live.roots!, 'unreadable');
    mkdirSync(join(folder, 'good'), { recursive: true });
    mkdirSync(join(folder, 'bad'), { recursive: true });
    for (const i of [0, 1, 2, 3]) {
      const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 9 * i, g: 0, b: 0 } } })
        .png()
        .toBuffer();
      writeFileSync(join(folder, 'good', `${i}.png`), png);
    }
    writeFileSync(join(folder, 'bad', '0.png'), 'not a png');
    const run = await live.failedFolderRun(folder, {
      name: 'browser unreadable',
      augmentation: { horizontalFlip: true },
    });
    const id = run.id;
    // The case reported: its last progress says it was loading.
    expect(run.progress?.phase).toBe('loading');

    const asked: string[] = [];
    page.on('request', (request) => request.url().endsWith('/augmentation.png') && asked.push(request.url()));
    await page.goto(`${baseUrl}/#/runs/${id}`);
    await page.locator('#run-status', { hasText: 'failed' }).waitFor();
    await page.locator('#no-curves').waitFor();
    expect(await page.locator('#no-curves').textContent()).toBe(
      'No curves: the run failed before it recorded a metric.',
    );
    expect(await page.locator('#run-charts').isHidden()).toBe(true);
    expect(await page.locator('#progress-facts').textContent()).toMatch(
      /^failed while loading its data, before its first step · ended \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/,
    );
    expect(await page.locator('[role=progressbar]').count()).toBe(0);
    expect(await page.locator('#evaluation-note').textContent()).toBe('None: the run failed before it was evaluated.');
    // Augmentation in its spec, but no sample saved before it failed: nothing asked for, no 404.
    expect(asked).toEqual([]);
    await shot('run-failed');
  }, 180_000);
});
