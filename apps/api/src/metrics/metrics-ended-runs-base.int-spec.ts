import type { LoggerService } from '@nestjs/common';
import { RunsRepository, type Database } from '@trainyard/db';
import { DATABASE } from '@trainyard/infrastructure';
import { startTestApi, type TestApi } from '../testing/test-api';
import { scrapedRunsByStatus, tableRunsByStatus } from '../testing/runs-by-status';

/** Short, so a count of ended runs falls due within the test. */
const PERIOD_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The base of ended runs behind `trainyard_runs`, counted in the background (EndedRunsBaseCounter):
 * the scrape that finds it due no longer waits for the count, one that fails keeps the last base, and
 * the totals stay exact meanwhile (real PostgreSQL, over HTTP). The API's RunsRepository is watched,
 * its real query run, and held or failed where a slow or failing PostgreSQL is what the test is about.
 */
describe('/metrics base of ended runs counted in the background (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let prisma: Database['prisma'];
  let countEndedBefore: jest.SpiedFunction<RunsRepository['countEndedBefore']>;
  let realCount: RunsRepository['countEndedBefore'];
  const warnings: string[] = [];
  const logs: string[] = [];
  const logger: LoggerService = {
    log: (message: unknown) => void logs.push(String(message)),
    warn: (message: unknown) => void warnings.push(String(message)),
    error: () => undefined,
  };

  beforeAll(async () => {
    api = await startTestApi({
      // The deadline of a count (and of a scrape's reads) far past how long the first test holds one.
      env: { METRICS_ENDED_RUNS_MAX_AGE_MS: String(PERIOD_MS), REDIS_CONNECT_TIMEOUT_MS: '20000' },
      logger,
    });
    ({ prisma } = api.app.get<Database>(DATABASE));
    const runs = api.app.get(RunsRepository, { strict: false });
    realCount = runs.countEndedBefore.bind(runs);
    countEndedBefore = jest.spyOn(runs, 'countEndedBefore');
  });
  afterAll(async () => {
    await api?.stop();
  });

  const scrapeRuns = () => scrapedRunsByStatus(api);
  const table = () => tableRunsByStatus(prisma);
  /** Resolves when `promise` does, or with `late` after `ms`. */
  const within = <T>(promise: Promise<T>, ms: number, late: T): Promise<T> =>
    Promise.race([promise, sleep(ms).then(() => late)]);

  it('answers the scrape that finds the base due from the last one while the count is under way, and never counts twice at once', async () => {
    const ids: string[] = [];
    for (const name of ['h1', 'h2', 'h3']) ids.push(await api.submitPretrain(name));
    await prisma.$executeRaw`UPDATE "runs" SET "status" = 'SUCCEEDED', "ended_at" = now() - interval '1 hour' WHERE "id" = ${ids[0]}::uuid`;
    expect(await scrapeRuns()).toEqual(await table()); // the first scrape waits for the first base
    // Scraped again: the counting goes on (a period with no scrape lets it rest, tested below).
    expect(await scrapeRuns()).toEqual(await table());

    // The next count is held in PostgreSQL's place until the test lets it go.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const heldStarted = new Promise<boolean>((r) => (started = () => r(true)));
    countEndedBefore.mockImplementationOnce(async (marginMs) => {
      started();
      await held;
      return realCount(marginMs);
    });
    // It starts on its own, a period after the last; the scrape that used to start it finds it due anyway.
    expect(await within(heldStarted, PERIOD_MS * 5, false)).toBe(true);
    const calls = countEndedBefore.mock.calls.length;
    await prisma.$executeRaw`UPDATE "runs" SET "status" = 'FAILED', "ended_at" = now() WHERE "id" = ${ids[1]}::uuid`;
    const during = await scrapeRuns();
    expect(during).toMatchObject({ 'SUCCEEDED/PRETRAIN': 1, 'FAILED/PRETRAIN': 1, 'QUEUED/PRETRAIN': 1 });
    expect(during).toEqual(await table());
    await sleep(PERIOD_MS * 2.5);
    expect(await scrapeRuns()).toEqual(await table());
    expect(countEndedBefore.mock.calls.length).toBe(calls); // no second count beside the held one

    release();
    await sleep(PERIOD_MS * 2.5);
    expect(countEndedBefore.mock.calls.length).toBeGreaterThan(calls); // counted again after it
    expect(await scrapeRuns()).toEqual(await table());
  });

  it('keeps the last base while counts fail, tries again every period, logs once, and logs when they answer', async () => {
    const before = await table();
    const warnedBefore = warnings.length;
    const failures = 3;
    let failed = 0;
    for (let i = 0; i < failures; i++)
      countEndedBefore.mockImplementationOnce(() => {
        failed += 1;
        return Promise.reject(new Error('connection terminated (test)'));
      });
    // Whichever scrape finds a base due while the counts fail still has every run.
    const ids: string[] = [];
    const deadline = Date.now() + PERIOD_MS * (failures + 5);
    while (failed < failures && Date.now() < deadline) {
      const id = await api.submitPretrain(`f${ids.length}`);
      ids.push(id);
      await prisma.$executeRaw`UPDATE "runs" SET "status" = 'CANCELLED', "ended_at" = now() WHERE "id" = ${id}::uuid`;
      expect(await scrapeRuns()).toEqual(await table());
      await sleep(PERIOD_MS / 4);
    }
    expect(failed).toBe(failures);
    const scraped = await scrapeRuns();
    expect(scraped['CANCELLED/PRETRAIN']).toBe(before['CANCELLED/PRETRAIN']! + ids.length);
    expect(scraped).toEqual(await table());
    const failedLines = warnings.slice(warnedBefore).filter((w) => w.includes('ended runs by status not counted'));
    expect(failedLines).toHaveLength(1);
    expect(failedLines[0]).toMatch(/goes on from the base up to \d{4}-.*connection terminated \(test\)/);
    await sleep(PERIOD_MS * 2);
    expect(logs).toContain('Metrics: ended runs by status counted again');
  });

  it('rests while nobody scrapes, and the next scrape is exact from the last base and counts again beside it', async () => {
    expect(await scrapeRuns()).toEqual(await table());
    // At most the count that scrape asked for, then none: nobody asks.
    await sleep(PERIOD_MS * 2.5);
    const resting = countEndedBefore.mock.calls.length;
    await sleep(PERIOD_MS * 3);
    expect(countEndedBefore.mock.calls.length).toBe(resting);

    // A run ended while it rested: the scrape has it (the runs ended since the base's bound are read
    // with it), answered from the last base, and a count starts beside it.
    const id = await api.submitPretrain('ended while resting');
    await prisma.$executeRaw`UPDATE "runs" SET "status" = 'SUCCEEDED', "ended_at" = now() WHERE "id" = ${id}::uuid`;
    expect(await scrapeRuns()).toEqual(await table());
    expect(countEndedBefore.mock.calls.length).toBe(resting + 1);
  });

  it('counts no more once the API has stopped', async () => {
    await api.stop();
    const calls = countEndedBefore.mock.calls.length;
    await sleep(PERIOD_MS * 2.5);
    expect(countEndedBefore.mock.calls.length).toBe(calls);
    api = undefined as unknown as TestApi; // stopped: afterAll has nothing left to stop
  });
});
