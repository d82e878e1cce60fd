import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { RunDetailView } from '@trainyard/contracts';
import { freePort, startScript, waitFor, type AppProcess } from './processes';
import { embeddedAdminKey, TrainyardClient } from '@trainyard/cli-app';

/**
 * The zero-configuration mode behind `npm run demo`: no DATABASE_URL and no S3_ENDPOINT, so the
 * server uses an embedded PGlite and a local object store under TRAINYARD_HOME, with the API and
 * one worker in one process.
 */
describe('embedded server (npm run demo mode)', () => {
  const home = mkdtempSync(join(tmpdir(), 'trainyard-home-'));
  const queueName = `embedded-${randomUUID()}`;
  let server: AppProcess;
  let client: TrainyardClient;

  beforeAll(async () => {
    const port = await freePort();
    const adminKey = embeddedAdminKey(home);
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

  it('trains a submitted run to SUCCEEDED with its database and checkpoints under TRAINYARD_HOME', async () => {
    const { id } = await client.submit({
      kind: 'pretrain',
      name: 'embedded smoke',
      dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 40, testPerClass: 10 },
      model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4, 8], latentDim: 16 },
      training: { epochs: 2, batchSize: 16 },
    });
    const run = await waitFor<RunDetailView>(
      `run ${id} to end`,
      async () => {
        const view = await client.run(id);
        return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(view.status) ? view : undefined;
      },
      120_000,
      () => server.output(),
    );
    expect(run).toMatchObject({ status: 'SUCCEEDED', failureReason: null });
    expect(run.checkpoints.length).toBeGreaterThan(0);
    const folder = fileURLToPath(run.checkpoints.at(-1)!.uri);
    expect(folder.startsWith(join(home, 'objects'))).toBe(true);
    expect(existsSync(join(folder, 'manifest.json'))).toBe(true);
    expect(existsSync(join(home, 'pglite'))).toBe(true);
    // The demo's key file is the user's alone.
    expect(statSync(join(home, 'admin-key')).mode & 0o777).toBe(0o600);
  }, 180_000);

  it('stops cleanly on SIGTERM', async () => {
    expect(await server.stop('SIGTERM')).toBe(0);
  }, 60_000);
});
