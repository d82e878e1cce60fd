import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { chromium, type Browser, type Page } from 'playwright-core';
import { TrainyardClient } from '@trainyard/client';
import type { RunDetailView } from '@trainyard/contracts';
import { createFreshDatabase, testAdminKey } from '@trainyard/db/testing';
import { freePort, startApp, waitFor, type AppProcess } from '../e2e/processes';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
/** Where the browser specs' screenshots land. */
export const ARTIFACTS = join(__dirname, '../../test-artifacts/browser');
// The closed network refuses Chromium's background connections; these flags keep it from trying.
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Runs the browser specs submit, trained in seconds: synthetic shapes at 16×16 (`perClass` and
 * `testPerClass` images a class), a one-layer encoder of 4 filters; a fine-tune labels half of them.
 */
export function tinyShapesSpecs(perClass: number, testPerClass: number) {
  const shapes = { name: 'synthetic-shapes', imageSize: 16, perClass, testPerClass } as const;
  const encoder = { inputShape: [16, 16, 1] as [number, number, 1], filters: [4], latentDim: 8 };
  return {
    pretrain: (name: string, epochs = 1) => ({
      kind: 'pretrain' as const,
      name,
      dataset: shapes,
      model: { type: 'conv-autoencoder' as const, ...encoder },
      training: { epochs, batchSize: 16, seed: 1 },
    }),
    finetune: (name: string) => ({
      kind: 'finetune' as const,
      name,
      dataset: { ...shapes, labelsPerClass: perClass / 2 },
      model: { type: 'classifier' as const, ...encoder },
      training: { epochs: 1, batchSize: 16, seed: 1 },
    }),
  };
}

/** A live API and worker (separate processes, real PostgreSQL and Redis) and a Chromium page on the dashboard. */
export interface LiveDashboard {
  baseUrl: string;
  adminKey: string;
  /** The fresh database the API and worker use: a spec seeds history there faster than runs train. */
  databaseUrl: string;
  /** The API as a script sees it: the admin key, every answer parsed by its contract. */
  client: TrainyardClient;
  page: Page;
  /** What the Content Security Policy blocked on the page: anything there is a bug in the page. */
  cspViolations: string[];
  /** A full-page screenshot in test-artifacts/browser/. */
  shot(name: string): Promise<Buffer>;
  /** With `localRoots`: the folder the API and worker read local datasets under (TRAINYARD_LOCAL_ROOTS), removed at stop. */
  roots: string | undefined;
  /** The tail of the worker's and the API's output, for a timeout's message. */
  logs(): string;
  /** Signs the page in with the admin key, and waits until the cookie is set. */
  signIn(): Promise<void>;
  /**
   * Registers `folder` (under `roots`) as a dataset, fine-tunes a tiny classifier on it, and waits
   * (up to 2 minutes) for the run to fail: a folder of unreadable images, for the pages of a failed run.
   */
  failedFolderRun(
    folder: string,
    spec: { name: string; augmentation?: { horizontalFlip: boolean } },
  ): Promise<RunDetailView>;
  stop(): Promise<void>;
}

/**
 * Starts the built API and worker (`npm run build`: dist/ and dist/dashboard) on a fresh
 * database and a queue of their own, training on the wasm backend, and opens the dashboard's
 * origin in headless Chromium (Debian's, driven by playwright-core); `env` adds settings,
 * `timezoneId` the time zone the page lives in (the machine's when absent), and `localRoots` a
 * fresh folder as TRAINYARD_LOCAL_ROOTS, for datasets registered by path.
 */
export async function startLiveDashboard(options: {
  name: string;
  viewport: { width: number; height: number };
  env?: Record<string, string>;
  timezoneId?: string;
  localRoots?: boolean;
}): Promise<LiveDashboard> {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const queueName = `${options.name}-${randomUUID()}`;
  const adminKey = testAdminKey();
  const database = await createFreshDatabase();
  const home = mkdtempSync(join(tmpdir(), `trainyard-${options.name}-`));
  // Its real path: the API compares a dataset's resolved path against the roots.
  const roots = options.localRoots
    ? realpathSync(mkdtempSync(join(tmpdir(), `trainyard-${options.name}-roots-`)))
    : undefined;
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: database.url,
    TRAINYARD_HOME: home,
    TRAINYARD_QUEUE: queueName,
    API_PORT: String(port),
    TRAINYARD_ADMIN_KEY: adminKey,
    TRAINYARD_BACKEND: 'wasm',
    WORKER_MAX_ATTEMPTS: '1',
    LOG_LEVEL: 'warn',
    ...(roots ? { TRAINYARD_LOCAL_ROOTS: roots } : {}),
    ...options.env,
  };
  const api: AppProcess = startApp('api', env);
  const worker: AppProcess = startApp('worker', env);
  let browser: Browser | undefined;
  const stop = async () => {
    await browser?.close();
    await Promise.all([api.stop(), worker.stop()]);
    const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: 6379 } });
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await database.drop();
    rmSync(home, { recursive: true, force: true });
    if (roots) rmSync(roots, { recursive: true, force: true });
  };
  try {
    const client = new TrainyardClient(baseUrl, adminKey, { validateResponses: true });
    await waitFor(
      'the API to be ready',
      async () => ((await client.ready()) ? true : undefined),
      60_000,
      () => api.output(),
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    const page = await browser.newPage({ viewport: options.viewport, timezoneId: options.timezoneId });
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    const logs = () => `--- worker ---\n${worker.output().slice(-3000)}\n--- api ---\n${api.output().slice(-2000)}`;
    return {
      baseUrl,
      adminKey,
      databaseUrl: database.url,
      client,
      page,
      cspViolations,
      roots,
      shot: (name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true }),
      logs,
      async signIn() {
        await page.fill('#api-key', adminKey);
        await page.click('form.sign-in button[type=submit]');
        // Signed in (the cookie is set) before the next page load, or it would ask for the key again.
        await page.locator('form.sign-in').waitFor({ state: 'detached' });
      },
      async failedFolderRun(folder, spec) {
        const dataset = await client.registerDataset('unreadable', { kind: 'local', path: folder });
        const { id } = await client.submit({
          kind: 'finetune',
          name: spec.name,
          dataset: { name: 'image-folder', datasetId: dataset.id, imageShape: [8, 8, 3] },
          model: { type: 'classifier', filters: [4], latentDim: 8 },
          ...(spec.augmentation ? { augmentation: spec.augmentation } : {}),
          training: { epochs: 1, batchSize: 2, seed: 1 },
        });
        return waitFor(
          'the run to fail',
          async () => {
            const view = await client.run(id);
            return view.status === 'FAILED' ? view : undefined;
          },
          120_000,
          logs,
        );
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
