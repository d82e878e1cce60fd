import { openDatabase } from '@trainyard/db';
import { startFreezableProxy, type FreezableProxy } from '@trainyard/db/testing';
import { Cluster, tinyPretrain } from './cluster';

/** Every chunk held this long each way: a round trip 300 ms slower, as across regions or on a loaded link. */
const DELAY_MS = 150;

/**
 * PostgreSQL, Redis and the S3 server all answer, but slowly: each reached through a proxy that
 * holds every chunk DELAY_MS each way, with the fleet's default deadlines and BullMQ timings.
 * Slowness alone must cost no attempt: the API stays ready and the run SUCCEEDS at its first.
 */
describe('slow PostgreSQL, Redis and S3 (real processes)', () => {
  let cluster: Cluster;
  const proxies: FreezableProxy[] = [];
  const slowed = async (address: URL): Promise<URL> => {
    const proxy = await startFreezableProxy({ host: address.hostname, port: Number(address.port) });
    proxy.slow(DELAY_MS);
    proxies.push(proxy);
    const through = new URL(address);
    through.port = String(proxy.port);
    return through;
  };

  beforeAll(async () => {
    cluster = await Cluster.start(async (base) => {
      // Migrated directly first: some hundred statements at 300 ms each would only slow the start.
      await (await openDatabase({ url: base['DATABASE_URL']!, embeddedPath: '' })).close();
      return {
        DATABASE_URL: (await slowed(new URL(base['DATABASE_URL']!))).toString(),
        REDIS_URL: (await slowed(new URL(base['REDIS_URL']!))).toString(),
        S3_ENDPOINT: (await slowed(new URL(base['S3_ENDPOINT']!))).toString().replace(/\/$/, ''),
        // The defaults, not the cluster's short test timings.
        WORKER_LOCK_DURATION_MS: '30000',
        WORKER_STALLED_INTERVAL_MS: '30000',
      };
    });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    for (const proxy of proxies) await proxy.close();
  });

  it('stays ready and trains a run to SUCCEEDED in one attempt', async () => {
    await cluster.startWorker();
    const ready = await fetch(`${cluster.baseUrl}/readyz`);
    const readiness = { status: ready.status, body: await ready.json() };
    console.log(`readyz over slow links: ${JSON.stringify(readiness)}`);
    expect(readiness).toMatchObject({ status: 200 });
    const submitted = Date.now();
    const runId = await cluster.submit(tinyPretrain('over slow links', 4, 20));
    const run = await cluster.waitForStatus(runId, ['SUCCEEDED', 'FAILED', 'CANCELLED'], 150_000);
    expect({ status: run.status, failureReason: run.failureReason }).toEqual({
      status: 'SUCCEEDED',
      failureReason: null,
    });
    const attempts = await cluster.attempts(runId);
    expect(attempts.map((a) => a.outcome)).toEqual(['SUCCEEDED']);
    console.log(`run ${runId} SUCCEEDED ${Date.now() - submitted} ms after its submit`);
    // A slow Redis still counts the requests (one budget for every replica), not each process on its own.
    expect(cluster.api.output()).not.toMatch(/Counting requests in this process|Rate limiter unavailable/);
  }, 200_000);
});
