import type { RunSpecInput } from '@trainyard/contracts';
import type { Page } from 'playwright-core';
import { waitFor } from '../e2e/processes';
import { startLiveDashboard, type LiveDashboard } from './live-dashboard';

/**
 * The dashboard in headless Chromium (Debian's, driven by playwright-core) against a live API
 * and worker — separate processes, real PostgreSQL and Redis — training tiny synthetic runs.
 * Screenshots land in test-artifacts/browser/.
 */
describe('web dashboard in Chromium against live runs', () => {
  let live: LiveDashboard;
  let baseUrl: string;
  let page: Page;
  const ids: Record<string, string> = {};
  /** Every augmentation sample the page asked for, and what the API answered. */
  const augmentationAnswers: { url: string; status: number }[] = [];

  beforeAll(async () => {
    // Far from UTC, so a time shown in UTC (or a date) cannot pass for local time.
    live = await startLiveDashboard({
      name: 'browser',
      viewport: { width: 1280, height: 800 },
      timezoneId: 'Asia/Tokyo',
    });
    ({ baseUrl, page } = live);
    page.on('response', (response) => {
      if (response.url().endsWith('/augmentation.png'))
        augmentationAnswers.push({ url: response.url(), status: response.status() });
    });
  }, 120_000);
  afterAll(() => live?.stop());

  const shapes = { name: 'synthetic-shapes', imageSize: 16, perClass: 60, testPerClass: 10 } as const;
  const encoder = { inputShape: [16, 16, 1] as [number, number, 1], filters: [4, 8], latentDim: 16 };
  const submit = async (spec: RunSpecInput) => (await live.client.submit(spec)).id;
  const status = async (id: string) => (await live.client.run(id)).status;
  const shot = (name: string) => live.shot(name);
  const workerLog = () => live.logs();
  /** An instant as the page in Tokyo (UTC+9 all year) shows it: "2026-12-06 01:45:13". */
  const inTokyo = (iso: string) =>
    new Date(Date.parse(iso) + 9 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');

  it('lists the runs and moves through them with the keyboard', async () => {
    ids['pretrain'] = await submit({
      kind: 'pretrain',
      name: 'browser pretrain',
      dataset: shapes,
      model: { type: 'conv-autoencoder', ...encoder },
      training: { epochs: 2, batchSize: 32, seed: 1 },
    });
    ids['finetune'] = await submit({
      kind: 'finetune',
      name: 'browser finetune',
      dataset: { ...shapes, labelsPerClass: 40 },
      model: { type: 'classifier', baseRunId: null, ...encoder },
      augmentation: { horizontalFlip: true, rotationRange: 10 },
      training: { epochs: 14, batchSize: 16, learningRate: 3e-3, seed: 1 },
      checkpoint: { everyEpochs: 7 },
    });
    await page.goto(`${baseUrl}/`);
    // No key yet: the page asks for one, and a wrong one is refused.
    await page.locator('form.sign-in').waitFor();
    await page.fill('#api-key', `${live.adminKey}-wrong`);
    await page.click('form.sign-in button[type=submit]');
    await page.locator('form.sign-in .error', { hasText: '401' }).waitFor();
    await shot('sign-in');
    await page.fill('#api-key', live.adminKey);
    await page.click('form.sign-in button[type=submit]');
    await page.locator('#runs-table tbody tr').nth(1).waitFor();
    expect(await page.locator('#runs-table tbody tr td:nth-child(4)').allTextContents()).toEqual([
      'browser finetune',
      'browser pretrain',
    ]);
    // Created in the reader's zone, which it names, the UTC instant in its tooltip.
    const created = page.locator(`#runs-table tr[data-id="${ids['finetune']}"] td:last-child time`);
    const { createdAt } = await live.client.run(ids['finetune']!);
    expect(await created.textContent()).toBe(`${inTokyo(createdAt)} UTC+9`);
    expect(await created.getAttribute('title')).toMatch(new RegExp(`^${createdAt.replace(/\./g, '\\.')} · `));
    // The key is in an HttpOnly cookie: no script on the page can read it.
    expect(await page.evaluate('document.cookie')).not.toContain(live.adminKey);
    await shot('runs-light');

    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    await page.keyboard.press('ArrowDown');
    expect(await page.locator('#runs-table tbody tr.selected').getAttribute('data-id')).toBe(ids['pretrain']);
    await page.keyboard.press('x');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('x');
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/#/runs/${ids['finetune']}`);
  }, 60_000);

  it("draws a run's curves and extends them live while it trains", async () => {
    await waitFor(
      'the fine-tune to start',
      async () => ((await status(ids['finetune']!)) === 'RUNNING' ? true : undefined),
      180_000,
      workerLog,
    );
    const points = async () => Number((await page.locator('#chart-loss').getAttribute('data-points')) ?? 0);
    await page.locator('#chart-loss canvas').waitFor();
    const first = await waitFor(
      'loss points on the chart',
      async () => ((await points()) > 0 ? points() : undefined),
      120_000,
      workerLog,
    );
    await page.locator('#live-state', { hasText: 'live' }).waitFor();
    // More points arrive over SSE while the page stays open (no reload).
    await waitFor('the chart to grow', async () => ((await points()) > first ? true : undefined), 120_000, workerLog);
    // Its log follows along: the training's own epoch lines appear while it runs.
    await page
      .locator('#run-log .log-line.source-stdout', { hasText: /epoch \d+\/14 loss/ })
      .first()
      .waitFor({ timeout: 60_000 });
    // Its lines' times are in the same zone as the runs list (they were UTC), and the log says which.
    const lineTime = page.locator('#run-log .log-line time').first();
    const t = (await lineTime.getAttribute('datetime'))!;
    expect(await lineTime.textContent()).toBe(inTokyo(t).slice(11));
    expect(await page.locator('#run-log-zone').textContent()).toBe('(times in Asia/Tokyo, UTC+9)');
    await shot('run-live');
    await waitFor(
      'the fine-tune to succeed',
      async () => ((await status(ids['finetune']!)) === 'SUCCEEDED' ? true : undefined),
      240_000,
      workerLog,
    );
    await page.locator('#run-status', { hasText: 'succeeded' }).waitFor({ timeout: 15_000 });
    await page
      .locator('#run-log .log-line.source-worker', { hasText: `run ${ids['finetune']} SUCCEEDED` })
      .waitFor({ timeout: 15_000 });
    await page.locator('table.heatmap').waitFor({ timeout: 15_000 });
    // Ended: nothing left to follow live.
    expect(await page.locator('#live-state').count()).toBe(0);
    expect(await page.locator('#chart-accuracy canvas').count()).toBe(1);
    // The augmented samples the run trained on are shown with it, asked for once the run had saved
    // them: no 404 while it waited or loaded its data, none again when its status changed.
    await page.locator('img.augmentation:not([hidden])').waitFor({ timeout: 15_000 });
    expect(augmentationAnswers).toEqual([
      { url: `${baseUrl}/v1/runs/${ids['finetune']}/augmentation.png`, status: 200 },
    ]);
    // Its curves are named and told in words (a canvas alone says nothing to a screen reader).
    expect(await page.locator('#chart-loss').getAttribute('aria-label')).toBe('Loss');
    expect(await page.locator('#chart-loss canvas').getAttribute('role')).toBe('img');
    expect(await page.locator('#chart-loss canvas').getAttribute('aria-label')).toMatch(
      /^Loss by step\. .*val_loss: \d+ points, steps \d+ to \d+, last [^,]+, lowest [^,]+, highest [^,]+\./,
    );
    await shot('run-done');
  }, 420_000);

  it('shows the metric the list is sorted by in a column of its own, as the API orders the rows', async () => {
    await page.goto(`${baseUrl}/#/?sort=metric:val_loss:min&order=asc`);
    const header = page.locator('#runs-table th.sorted-by');
    await header.waitFor();
    await page.locator('#runs-table tbody tr').nth(1).waitFor();
    expect(await header.textContent()).toBe('val_loss (min)');
    expect(await header.getAttribute('aria-sort')).toBe('ascending');
    // The values the rows are ordered by, in the API's order (the headline column shows others).
    const { items } = await live.client.listRuns({ sort: 'metric:val_loss:min', order: 'asc' });
    const shown = (value: number | null | undefined) => (value == null ? '—' : String(Number(value.toPrecision(4))));
    const rows = page.locator('#runs-table tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')))).toEqual(
      items.map((r) => r.id),
    );
    expect(await page.locator('#runs-table td.sorted-metric').allTextContents()).toEqual(
      items.map((r) => shown(r.summaries.find((m) => m.name === 'val_loss')?.min)),
    );
    const values = items.flatMap((r) => r.summaries.find((m) => m.name === 'val_loss')?.min ?? []);
    expect(values.length).toBeGreaterThan(0);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    // The fine-tune's test accuracy, which no other column shows.
    await page.fill('input[list="sorts"]', 'metric:test/accuracy:best');
    await page.locator('#runs-table th.sorted-by', { hasText: 'test/accuracy (best)' }).waitFor();
    const accuracy = (await live.client.run(ids['finetune']!)).summaries.find((m) => m.name === 'test/accuracy')!.best;
    expect(await page.locator(`#runs-table tr[data-id="${ids['finetune']}"] td.sorted-metric`).textContent()).toBe(
      shown(accuracy),
    );
    await shot('runs-sorted');
    // Sorted by creation: no metric column, and the Created column says it is the order.
    await page.fill('input[list="sorts"]', 'createdAt');
    await page.locator('#runs-table th[aria-sort]', { hasText: 'Created' }).waitFor();
    expect(await page.locator('#runs-table th.sorted-by').count()).toBe(0);
  }, 60_000);

  it('overlays the curves of chosen runs on the compare page, and shows queues and workers, light and dark', async () => {
    // Both runs were marked with x in the first test; the Compare button opens them.
    await page.goto(`${baseUrl}/`);
    await page.getByRole('button', { name: 'Compare (2)' }).click();
    await page.waitForURL(/#\/compare\?ids=/);
    await page.locator('#compare-loss canvas').waitFor();
    expect(Number(await page.locator('#compare-loss').getAttribute('data-points'))).toBeGreaterThan(4);
    expect(await page.locator('table.compact tbody tr').count()).toBe(2);
    await shot('compare');

    // An operator's admin key sees every project with a limit of its own.
    await live.client.setProjectLimits('research', { maxRunning: 3 });
    await page.goto(`${baseUrl}/#/fleet`);
    await page.locator('#workers tbody tr').first().waitFor();
    expect(await page.locator('#workers tbody tr td:nth-child(3)').first().textContent()).toBe('wasm');
    expect(await page.locator('#project-limits tbody tr').allTextContents()).toEqual([
      'research3 runs at once (its own limit)1000 (the default)100 (the default)000 B of 50.0 GiB (the default)0 B',
    ]);
    // Jobs by state in words a person acts on: BullMQ's prioritized ones count as waiting.
    expect(await page.locator('.counts').first().locator('.count span').allTextContents()).toEqual([
      'waiting',
      'delayed',
      'active',
      'completed',
      'failed',
    ]);
    await shot('fleet');
    await live.client.setProjectLimits('research', { maxRunning: null });

    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${baseUrl}/#/runs/${ids['finetune']}`);
    await page.locator('table.heatmap').waitFor();
    // A string: the test is compiled without the DOM library, the page evaluates it.
    const background = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(background).toBe('rgb(15, 19, 24)');
    await shot('run-dark');
    await page.goto(`${baseUrl}/`);
    await page.locator('#runs-table tbody tr').nth(1).waitFor();
    await shot('runs-dark');
    expect(live.cspViolations).toEqual([]);

    // Signing out forgets the cookie: the page asks for a key again, and keeps asking, with what is
    // typed in the form kept, whatever page is asked for meanwhile (it is drawn once signed in).
    await page.click('#sign-out');
    await page.locator('form.sign-in').waitFor();
    await page.fill('#api-key', 'half-typed');
    await page.goto(`${baseUrl}/#/fleet`);
    // Long enough for the fleet page's requests to come back 401, had it asked (it used to, and the
    // form was drawn again, empty).
    await page.waitForTimeout(1500);
    expect(await page.inputValue('#api-key')).toBe('half-typed');
  }, 60_000);

  it('tags and annotates a run, filters by its tag, archives it out of the list, and deletes it after a dry run', async () => {
    await page.emulateMedia({ colorScheme: 'light' });
    await live.signIn();
    await page.goto(`${baseUrl}/#/runs/${ids['pretrain']}`);
    await page.click('#edit-run');
    // A pretrain has no augmentation: its page does not ask for a sample (a 404 and a console error).
    expect(augmentationAnswers.filter((a) => a.url.includes(ids['pretrain']!))).toEqual([]);
    await page.fill('#edit-tags', 'baseline gold');
    // Markdown is shown as the text written: a tag in the notes stays text.
    await page.fill('#edit-notes', '# Findings\n<b>not bold</b>');
    await page.click('#save-run');
    await page.locator('#run-tags .chip', { hasText: 'gold' }).waitFor();
    expect(await page.locator('#run-notes').textContent()).toBe('# Findings\n<b>not bold</b>');
    expect(await page.locator('#run-notes b').count()).toBe(0);

    await page.goto(`${baseUrl}/`);
    await page.locator('#runs-table tbody tr').nth(1).waitFor();
    await page.locator(`#runs-table tr[data-id="${ids['pretrain']}"] .chip`, { hasText: 'gold' }).click();
    await waitFor(
      'the tag filter',
      async () => ((await page.locator('#runs-table tbody tr').count()) === 1 ? true : undefined),
      10_000,
    );
    expect(await page.inputValue('#tag-filter')).toBe('gold');
    await shot('runs-tagged');

    await page.goto(`${baseUrl}/#/runs/${ids['pretrain']}`);
    await page.click('#archive-run');
    await page.locator('#archived-badge').waitFor();
    await page.goto(`${baseUrl}/`);
    await page.locator('#runs-table tbody tr').first().waitFor();
    expect(await page.locator('#runs-table tbody tr').count()).toBe(1);
    await page.selectOption('#archived-filter', 'any');
    await page.locator('#runs-table tbody tr').nth(1).waitFor();

    await page.goto(`${baseUrl}/#/runs/${ids['pretrain']}`);
    await page.click('#delete-run');
    await page.locator('#deletion-summary', { hasText: 'checkpoints' }).waitFor();
    await shot('run-delete-confirm');
    await page.click('#confirm-delete');
    await page.waitForURL(/#\/$/);
    await expect(live.client.run(ids['pretrain']!)).rejects.toMatchObject({ status: 404 });
  }, 60_000);

  it('shows a worker draining on the fleet page, with its drain mode, until the drain is taken back', async () => {
    const [worker] = (await live.client.workers()).workers;
    await live.client.drainWorker(worker!.id, 'finish');
    await page.goto(`${baseUrl}/#/fleet`);
    // Signed in already, unless this test runs alone.
    await page.locator('#workers, form.sign-in').first().waitFor();
    if (await page.locator('form.sign-in').isVisible()) {
      await live.signIn();
      await page.goto(`${baseUrl}/#/fleet`);
    }
    const row = page.locator('#workers tbody tr', { hasText: worker!.id });
    const badge = row.locator('td:nth-child(2) .badge');
    await badge.waitFor();
    // Draining at once; drained once the idle worker has acted on it (at its next heartbeat).
    expect(await badge.textContent()).toMatch(/^(draining|drained)$/);
    expect(await badge.getAttribute('class')).toMatch(/\bbadge (draining|drained)\b/);
    expect(await badge.getAttribute('title')).toBe('drain: finish');
    await shot('fleet-draining');

    // Drained, it takes nothing: a run submitted now waits, and its page says where it stands.
    await row.locator('.badge.drained').waitFor({ timeout: 15_000 });
    const waiting = await submit({
      kind: 'pretrain',
      name: 'browser waiting',
      dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 8, testPerClass: 2 },
      model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4], latentDim: 8 },
      training: { epochs: 1, batchSize: 16, seed: 1 },
    });
    await page.goto(`${baseUrl}/#/runs/${waiting}`);
    const note = page.locator('#queue-position');
    await note.waitFor();
    // The one worker that serves it is drained: said so, and what the run waits for.
    expect(await note.textContent()).toBe(
      'Waiting: next in line in class any · 1 live worker serves it, drained or draining: it waits until its drain is taken back or another worker starts',
    );
    await shot('run-waiting');

    await live.client.undrainWorker(worker!.id);
    // It trains once the worker consumes again; the note goes with the wait.
    await note.waitFor({ state: 'hidden', timeout: 30_000 });
    await page.goto(`${baseUrl}/#/fleet`);
    // The page reloads the fleet every 5 s.
    await row.locator('.badge.alive').waitFor({ timeout: 15_000 });
    expect(await row.locator('td:nth-child(2) .badge').getAttribute('title')).toBe('');
  }, 90_000);
});
