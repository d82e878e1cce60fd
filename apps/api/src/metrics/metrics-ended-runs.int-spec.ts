import { RunsRepository, type Database } from '@trainyard/db';
import { DATABASE } from '@trainyard/infrastructure';
import { startTestApi, type TestApi } from '../testing/test-api';
import { scrapedRunsByStatus, tableRunsByStatus } from '../testing/runs-by-status';

/**
 * `trainyard_runs{status,kind}` as runs end, with METRICS_ENDED_RUNS_MAX_AGE_MS at its default
 * (60 s): every ended run is recounted only that often, yet a run that ends shows in its ended
 * status at the next scrape, so the sum over statuses never dips (real PostgreSQL, over HTTP).
 */
describe('/metrics runs by status as runs end (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let runs: RunsRepository;
  let prisma: Database['prisma'];

  beforeAll(async () => {
    api = await startTestApi();
    ({ prisma } = api.app.get<Database>(DATABASE));
    runs = new RunsRepository(prisma);
  });
  afterAll(async () => {
    await api?.stop();
  });

  const scrapeRuns = () => scrapedRunsByStatus(api);
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  const table = () => tableRunsByStatus(prisma);

  it('shows a run that ended since the last scrape in its ended status at the next one', async () => {
    expect(api.config.api.metricsEndedRunsMaxAgeMs).toBe(60_000);
    const ids: string[] = [];
    for (const name of ['e1', 'e2', 'e3', 'e4']) ids.push(await api.submitPretrain(name));
    // This scrape counts the ended runs in full; the next minute's scrapes reuse that count.
    expect(await scrapeRuns()).toEqual(await table());

    await runs.finish(ids[0]!, 'SUCCEEDED');
    const cancel = await api.fetch(`${api.baseUrl}/v1/runs/${ids[1]}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(200);
    const next = await scrapeRuns();
    expect(next).toMatchObject({ 'QUEUED/PRETRAIN': 2, 'SUCCEEDED/PRETRAIN': 1, 'CANCELLED/PRETRAIN': 1 });
    expect(next).toEqual(await table());

    // A transaction that stamped its ended_at two minutes before it committed (a long one, or a
    // worker whose clock is behind the database's) still lands in this scrape.
    await prisma.$executeRaw`
      UPDATE "runs" SET "status" = 'FAILED', "ended_at" = now() - interval '2 minutes' WHERE "id" = ${ids[2]}::uuid`;
    const late = await scrapeRuns();
    expect(late).toMatchObject({ 'QUEUED/PRETRAIN': 1, 'FAILED/PRETRAIN': 1 });
    expect(late).toEqual(await table());
  });

  it('keeps the sum over statuses equal to the runs recorded while runs end between and during scrapes', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await api.submitPretrain(`s${i}`));
    const total = sum(await table());
    const sums: number[] = [];
    // Each run ends while a scrape is in flight, and the next scrape follows it.
    for (const [i, id] of ids.entries()) {
      const [during] = await Promise.all([scrapeRuns(), runs.finish(id, i % 2 ? 'FAILED' : 'SUCCEEDED')]);
      sums.push(sum(during), sum(await scrapeRuns()));
    }
    expect(sums).toEqual(sums.map(() => total));
    expect(await scrapeRuns()).toEqual(await table());
  });
});
