import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { RunDetailView } from '@trainyard/contracts';
import { embeddedAdminKey, TrainyardClient } from '@trainyard/cli-app';
import { freePort, startScript, waitFor, type AppProcess } from './processes';

/**
 * `trainyard_runs` on the embedded PGlite (no DATABASE_URL, as `npm run demo` runs), whose driver
 * sends an array parameter as a bare list PostgreSQL refuses: the counts name their statuses one
 * parameter each, so the series is there instead of left out of every scrape.
 */
describe('embedded server: /metrics runs by status (PGlite, HTTP)', () => {
  const home = mkdtempSync(join(tmpdir(), 'trainyard-home-'));
  const queueName = `embedded-${randomUUID()}`;
  let server: AppProcess;
  let client: TrainyardClient;
  let port: number;
  let adminKey: string;

  beforeAll(async () => {
    port = await freePort();
    adminKey = embeddedAdminKey(home);
    server = startScript('dist/apps/cli/src/embedded-server.js', {
      TRAINYARD_HOME: home,
      TRAINYARD_QUEUE: queueName,
      API_PORT: String(port),
      DATABASE_URL: '',
      S3_ENDPOINT: '',
      TRAINYARD_ADMIN_KEY: adminKey,
    });
    client = new TrainyardClient(`http://127.0.0.1:${port}`, adminKey);
    await waitFor(
      'the embedded server',
      async () => ((await client.ready()) ? true : undefined),
      90_000,
      () => server.output(),
    );
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: 6379 } });
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('counts a run in its status, and once it ended in its ended one', async () => {
    const { id } = await client.submit({
      kind: 'pretrain',
      name: 'embedded metrics',
      dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 40, testPerClass: 10 },
      model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4, 8], latentDim: 16 },
      training: { epochs: 1, batchSize: 16 },
    });
    const runs = async (): Promise<string[]> => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } });
      expect(res.status).toBe(200);
      return (await res.text()).split('\n').filter((l) => l.startsWith('trainyard_runs{') && !l.endsWith(' 0'));
    };
    // One run, in whichever status it has reached.
    expect(await runs()).toEqual([expect.stringMatching(/^trainyard_runs\{status="\w+",kind="PRETRAIN"\} 1$/)]);
    const ended = await waitFor<RunDetailView>(
      `run ${id} to end`,
      async () => {
        const view = await client.run(id);
        return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(view.status) ? view : undefined;
      },
      120_000,
      () => server.output(),
    );
    expect(await runs()).toEqual([`trainyard_runs{status="${ended.status}",kind="PRETRAIN"} 1`]);
  }, 180_000);
});
