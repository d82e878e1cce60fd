import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { waitFor } from '../e2e/processes';
import { startLiveDashboard, tinyShapesSpecs, type LiveDashboard } from './live-dashboard';

/**
 * The dashboard as a person reading run history meets it with awkward data, in headless Chromium
 * against a live API and worker (real PostgreSQL and Redis): user text that looks like HTML, very
 * long and right-to-left names, and a run opened from an old link after it was deleted. Needs
 * `npm run build`. Screenshots land in test-artifacts/browser/.
 */
describe('dashboard with awkward data in Chromium', () => {
  let live: LiveDashboard;
  let baseUrl: string;
  let page: Page;
  /** What the page's scripts threw or logged as errors. */
  const pageErrors: string[] = [];
  /** Every request the page made, with the status it got. */
  const requests: { url: string; status: number }[] = [];
  const ids: Record<string, string> = {};

  const { pretrain } = tinyShapesSpecs(8, 2);

  beforeAll(async () => {
    live = await startLiveDashboard({
      name: 'browser-awkward',
      viewport: { width: 1280, height: 800 },
      localRoots: true,
    });
    ({ baseUrl, page } = live);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => message.type() === 'error' && pageErrors.push(message.text()));
    page.on('response', (response) => requests.push({ url: response.url(), status: response.status() }));
    await page.goto(`${baseUrl}/`);
    await live.signIn();
  }, 120_000);
  afterAll(async () => {
    await live?.stop();
  });

  it('opens a deleted run from an old link: says it is gone, once, and stops asking', async () => {
    const { id } = await live.client.submit(pretrain('soon deleted'));
    await waitFor(
      'the run to end',
      async () => (['SUCCEEDED', 'FAILED'].includes((await live.client.run(id)).status) ? true : undefined),
      120_000,
      () => live.logs(),
    );
    await live.client.deleteRun(id);
    requests.length = 0;
    await page.goto(`${baseUrl}/#/runs/${id}`);
    await page.locator('#app .error', { hasText: '404' }).first().waitFor();
    await page.waitForTimeout(8_000);
    await live.shot('awkward-deleted-run');
    const asked = requests.filter((r) => r.url.includes(id)).map((r) => `${r.status} ${new URL(r.url).pathname}`);
    // The run, its series, its log and its events: each asked once, not again every few seconds.
    expect(asked.filter((r) => r.endsWith('/events')).length).toBeLessThanOrEqual(1);
  }, 180_000);

  it('shows names, tags and notes that look like HTML or run right to left as text, inside the page', async () => {
    const html = '<img src=x onerror="window.__xss=1"><b>bold</b>';
    // 120 characters, the longest name there is: Arabic, emoji and no space to break at.
    const name = `${html} نموذج-التدريب-🚂🚂🚂-${'x'.repeat(120)}`.slice(0, 120);
    const { id } = await live.client.submit(pretrain(name));
    ids['named'] = id;
    await live.client.updateRun(id, {
      tags: ['<script>', 'a'.repeat(63)].filter((t) => /^[a-z0-9]/.test(t)),
      notes: `# Notes\n<script>window.__xss=2</script>\n<img src=x onerror="window.__xss=3">`,
    });
    await page.goto(`${baseUrl}/`);
    const cell = page.locator(`#runs-table tr[data-id="${id}"] td:nth-child(4)`);
    await cell.waitFor();
    expect(await cell.textContent()).toContain(name);
    await page.goto(`${baseUrl}/#/runs/${id}`);
    await page.locator('#run-notes', { hasText: '<script>' }).waitFor();
    expect(await page.locator('#app h1').first().textContent()).toContain(name);
    expect(await page.locator('#app img[src=x], #app b, #app script').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    // Nothing wider than the window: no sideways scroll to find the status or the buttons.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1280);
    await live.shot('awkward-names-run');
    await page.goto(`${baseUrl}/`);
    await cell.waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1280);
    await live.shot('awkward-names-list');
  }, 60_000);

  it("says why a checkpoint's files could not be listed when the API cannot be reached", async () => {
    const id = ids['named']!;
    await waitFor(
      'the run to end with a checkpoint',
      async () => ((await live.client.run(id)).checkpoints.length ? true : undefined),
      120_000,
      () => live.logs(),
    );
    await page.goto(`${baseUrl}/#/runs/${id}`);
    const list = page.locator('#app button.link', { hasText: 'list' }).first();
    await list.waitFor();
    pageErrors.length = 0;
    // The API unreachable for a moment: the request fails as a dropped connection would.
    await page.route('**/checkpoints/*/files', (route) => route.abort('connectionrefused'));
    await list.click();
    const cell = page.locator('#app table.compact td', { has: page.locator('button.link') }).first();
    // Said in the cell, with the button to ask again, and nothing thrown to the console.
    await cell.locator('.error', { hasText: 'could not reach the API' }).waitFor();
    expect(pageErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await live.shot('awkward-checkpoint-files-unreachable');
    await page.unroute('**/checkpoints/*/files');
    await cell.locator('button.link', { hasText: 'list' }).click();
    await page.locator('#app ul.files a', { hasText: 'model.json' }).first().waitFor();
  }, 180_000);

  it('says why signing out failed when the API cannot be reached, and signs out once it can', async () => {
    await page.goto(`${baseUrl}/#/fleet`);
    await page.locator('#sign-out').waitFor();
    pageErrors.length = 0;
    await page.route('**/v1/session', (route) => route.abort('connectionrefused'));
    await page.click('#sign-out');
    await page.locator('#who .error', { hasText: 'could not reach the API' }).waitFor();
    expect(pageErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await live.shot('awkward-sign-out-unreachable');
    await page.unroute('**/v1/session');
    await page.click('#sign-out');
    await page.locator('form.sign-in').waitFor();
  }, 60_000);

  it('asks for a key again when the signed-in key is revoked mid-use, and never stays on "loading"', async () => {
    const { key, token } = await live.client.createKey({ name: 'soon revoked', scopes: ['read'] });
    await page.context().clearCookies();
    await page.goto(`${baseUrl}/`);
    await page.fill('#api-key', token);
    await page.click('form.sign-in button[type=submit]');
    await page.locator('#runs-table').waitFor();
    await live.client.revokeKey(key.id);
    await page.goto(`${baseUrl}/#/sweeps`);
    await page.locator('form.sign-in').waitFor();
    await live.signIn();
    await page.locator('h1', { hasText: 'Sweeps' }).waitFor();
  }, 60_000);

  it('says the API cannot be reached when the page opens while it is away, not that the reader is signed out', async () => {
    await page.goto(`${baseUrl}/#/sweeps`);
    await page.locator('h1', { hasText: 'Sweeps' }).waitFor();
    await page.route('**/v1/**', (route) => route.abort('connectionrefused'));
    await page.reload();
    await page.locator('#app .error', { hasText: 'could not reach the API' }).waitFor();
    expect(await page.locator('form.sign-in').count()).toBe(0);
    await live.shot('awkward-api-unreachable');
    // Back: the page it was opened on, without a reload and without asking for a key.
    await page.unroute('**/v1/**');
    await page.locator('h1', { hasText: 'Sweeps' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('form.sign-in').count()).toBe(0);
  }, 60_000);

  it("shows a failed run's long reason whole, inside the page", async () => {
    // Every image unreadable, under a folder whose name is one long word: the reason names it.
    const folder = join(live.roots!, `${'averylongfoldernamewithoutspacesorhyphens'.repeat(6)}end`);
    mkdirSync(join(folder, 'cats'), { recursive: true });
    mkdirSync(join(folder, 'dogs'), { recursive: true });
    writeFileSync(join(folder, 'cats', '0.png'), 'not a png');
    writeFileSync(join(folder, 'dogs', '0.png'), 'not a png either');
    const run = await live.failedFolderRun(folder, { name: 'unreadable data' });
    const id = run.id;
    expect(run.failureReason).toContain(folder);
    await page.goto(`${baseUrl}/#/runs/${id}`);
    await page.locator('#run-status', { hasText: 'failed' }).waitFor();
    // The log of an ended run is loaded once, and the panel stops saying "loading…".
    await waitFor(
      'the log panel to stop loading',
      async () => ((await page.locator('#run-log-state').textContent()) === '' ? true : undefined),
      10_000,
      () => live.logs(),
    );
    await live.shot('awkward-failed-long-reason');
    // Wrapped, not wider than the window (the header) nor cut off by its card (the attempt's error).
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1280);
    const attemptError = page.locator('.timeline .error').first();
    expect(await attemptError.textContent()).toContain(folder);
    expect(await attemptError.evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true);
  }, 180_000);

  it('opens a pipeline, sweep or dataset from an old link after it is gone: says so and stops asking', async () => {
    const gone = '00000000-0000-4000-8000-000000000000';
    for (const kind of ['pipelines', 'sweeps', 'datasets']) {
      requests.length = 0;
      await page.goto(`${baseUrl}/#/${kind}/${gone}`);
      await page.locator('#app .error, #app [role=status]', { hasText: '404' }).first().waitFor();
      await page.waitForTimeout(7_000);
      const asked = requests.filter((r) => r.url.includes(gone)).map((r) => `${r.status} ${new URL(r.url).pathname}`);
      expect([kind, asked.length]).toEqual([kind, 1]);
    }
  }, 60_000);

  it('says so when a run cannot be read again after archiving it, rather than showing it unchanged', async () => {
    const id = ids['named']!;
    await page.goto(`${baseUrl}/#/runs/${id}`);
    await page.locator('#archive-run', { hasText: 'Archive' }).waitFor();
    pageErrors.length = 0;
    // The archive lands; the API is gone a moment later, when the page reads the run again.
    await page.route(`**/v1/runs/${id}`, (route) =>
      route.request().method() === 'GET' ? route.abort('connectionrefused') : route.continue(),
    );
    await page.click('#archive-run');
    await page.locator('#run-problem', { hasText: 'could not reach the API' }).waitFor();
    expect(pageErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await page.unroute(`**/v1/runs/${id}`);
    expect((await live.client.run(id)).archivedAt).not.toBeNull();
    await live.client.archive(id, false);
  }, 60_000);
});
