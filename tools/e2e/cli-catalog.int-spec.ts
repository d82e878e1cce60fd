import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { extract } from 'tar-stream';
import { TrainyardClient } from '@trainyard/client';
import { LocalObjectStore } from '@trainyard/storage';
import { Cluster, tinyPretrain } from './cluster';
import { writeColourFolder } from './image-folder-fixtures';

const CLI = resolve(__dirname, '../../dist/apps/cli/src/trainyard.js');

/**
 * The compiled `trainyard` command (npm run build first) listing pipelines, sweeps and models and
 * downloading a checkpoint as one tar, against a live API and worker: the archive is read back
 * and every file matches its manifest; a weight file changed in the store fails the check (exit 5);
 * a local image folder uploaded, then trained on.
 */
describe('trainyard CLI: lists and checkpoint archives (subprocess, live API and worker)', () => {
  let cluster: Cluster;
  let client: TrainyardClient;
  const home = mkdtempSync(join(tmpdir(), 'trainyard-cli-catalog-'));
  let env: Record<string, string>;

  const trainyard = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((done) => {
      execFile(process.execPath, [CLI, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      });
    });

  beforeAll(async () => {
    cluster = await Cluster.start();
    await cluster.startWorker();
    client = new TrainyardClient(cluster.baseUrl, cluster.adminKey);
    env = {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'config'),
      TRAINYARD_URL: cluster.baseUrl,
      TRAINYARD_API_KEY: cluster.adminKey,
    };
  }, 180_000);
  afterAll(async () => {
    await cluster?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  let runId = '';

  it('registers a trained run as a model and lists it with the run that made it', async () => {
    runId = (await client.submit(tinyPretrain('cli catalog', 2, 20))).id;
    await cluster.waitForStatus(runId, ['SUCCEEDED'], 120_000);
    expect((await trainyard('models', 'register', 'digits-ae', runId)).code).toBe(0);
    const listed = await trainyard('models', '--json');
    expect(listed.code).toBe(0);
    const page = JSON.parse(listed.stdout);
    expect(
      page.items.map((m: { name: string; versions: { runId: string }[] }) => [m.name, m.versions[0]!.runId]),
    ).toEqual([['digits-ae', runId]]);
    const table = await trainyard('models');
    expect(table.stdout).toMatch(/digits-ae\s+default\s+v1\s+1\s+/);
  }, 180_000);

  it('lists pipelines and sweeps a page at a time, naming the cursor of the next page', async () => {
    const spec = tinyPretrain('p', 1, 8);
    const finetune = {
      kind: 'finetune',
      name: 'ft',
      dataset: spec.dataset,
      model: { type: 'classifier', inputShape: [16, 16, 1], filters: [8], latentDim: 16 },
      training: { epochs: 1 },
    };
    for (const name of ['first', 'second']) {
      const pipeline = await client.submitPipeline({
        name,
        pretrain: { ...spec, name: `${name} ae` },
        finetunes: [{ ...finetune, name: `${name} ft` }],
      } as never);
      // Listed as they are; nothing needs to train.
      await client.cancelPipeline(pipeline.id);
    }
    const one = await trainyard('pipelines', '--limit', '1');
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/second/);
    const cursor = /more: --cursor (\S+)/.exec(one.stdout)?.[1];
    expect(cursor).toBeDefined();
    const next = await trainyard('pipelines', '--limit', '1', '--cursor', cursor!, '--json');
    expect(JSON.parse(next.stdout).items.map((p: { name: string }) => p.name)).toEqual(['first']);
    expect((await trainyard('sweeps', '--json')).stdout).toContain('"items": []');
    // A limit past the lists' cap (the contracts' CATALOG_LIST_MAX_LIMIT) is refused before anything is sent.
    const refused = await trainyard('pipelines', '--limit', '1000');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--limit expects a whole number of rows from 1 to 100, got "1000"/);
  }, 60_000);

  it('downloads the checkpoint as one tar, every file checked against the manifest; a changed file fails with exit 5', async () => {
    const out = join(home, 'archives');
    const result = await trainyard('download', runId, '--archive', '--out', join(out, 'ckpt.tar'), '--json');
    expect(result).toMatchObject({ code: 0 });
    const report = JSON.parse(result.stdout) as { archive: string; files: { file: string; verified: boolean }[] };
    expect(report.archive).toBe(join(out, 'ckpt.tar'));
    expect(report.files[0]!.file).toBe('manifest.json');
    expect(report.files.slice(1).every((f) => f.verified)).toBe(true);

    // Read back: the manifest lists exactly the other files, with their sha256.
    const entries = new Map<string, Buffer>();
    const reader = extract();
    const read = (async () => {
      for await (const entry of reader) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        entries.set(entry.header.name.slice(entry.header.name.indexOf('/') + 1), Buffer.concat(chunks));
      }
    })();
    reader.end(readFileSync(report.archive));
    await read;
    const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as {
      files: Record<string, { sha256: string }>;
    };
    expect(Object.keys(manifest.files).sort()).toEqual([...entries.keys()].filter((f) => f !== 'manifest.json').sort());
    for (const [file, { sha256 }] of Object.entries(manifest.files))
      expect(createHash('sha256').update(entries.get(file)!).digest('hex')).toBe(sha256);

    // A weight file changed in the store (same length, one byte flipped) no longer matches.
    const checkpoint = (await client.checkpoints(runId)).checkpoints.filter((c) => c.status === 'COMPLETE').at(-1)!;
    const prefix = checkpoint.uri.slice(cluster.store.uri('').length);
    const weights = Object.keys(manifest.files).find((f) => f.endsWith('.bin'))!;
    const body = Buffer.from(entries.get(weights)!);
    body[0] = body[0]! ^ 0xff;
    await cluster.store.put(`${prefix}${weights}`, body);
    const tampered = await trainyard('download', runId, '--archive', '--out', out);
    expect(tampered.code).toBe(5);
    expect(tampered.stderr).toContain(weights);
  }, 60_000);

  it('uploads a local image folder (links and files that are no images left out), and a fine-tune trains on it from the store', async () => {
    const folder = join(home, 'colours');
    const local = new LocalObjectStore(folder);
    await writeColourFolder(local, '', 8);
    // A PNG cut short: its signature is right, so it goes up; the run cannot decode it.
    await local.put('red/truncated.png', (await local.get('red/0.png')).subarray(0, 40));
    symlinkSync('/etc/passwd', join(folder, 'red', 'passwd.png'));
    const uploaded = await trainyard('datasets', 'upload', 'colours', folder, '--json');
    expect(uploaded.code).toBe(0);
    expect(uploaded.stderr).toContain('left out 1 entries that are no plain files');
    // red/broken.png ("not a png at all") is left out at upload, named with the reason.
    expect(uploaded.stderr).toContain('left out 1 files named as images that are none:');
    expect(uploaded.stderr).toContain('red/broken.png: not a PNG, JPEG or WebP image (it starts with');
    const view = JSON.parse(uploaded.stdout) as { id: string; classNames: string[]; counts: number[]; uri: string };
    expect(view).toMatchObject({ skippedCount: 1, skipped: [{ entry: 'red/broken.png' }] });
    expect([view.classNames, view.counts]).toEqual([
      ['blue', 'green', 'red'],
      [8, 8, 9],
    ]);
    expect(view.uri).toMatch(/\/datasets\/uploads\/[0-9a-f-]{36}\/$/);
    // Refused the second time: the name is taken (exit code 2, the API's 409 on stderr).
    const again = await trainyard('datasets', 'upload', 'colours', folder);
    expect([again.code, again.stderr]).toEqual([2, expect.stringMatching(/409|already registered/)]);
    // An empty class folder goes up as a folder, and the upload is refused naming it, not left a class short.
    mkdirSync(join(folder, 'yellow'));
    const empty = await trainyard('datasets', 'upload', 'colours-and-yellow', folder);
    expect([empty.code, empty.stderr]).toEqual([
      2,
      expect.stringContaining('class folder "yellow" has no image inside'),
    ]);
    rmdirSync(join(folder, 'yellow'));

    const run = await client.submit({
      kind: 'finetune',
      name: 'on the uploaded folder',
      dataset: {
        name: 'image-folder',
        datasetId: view.id,
        imageShape: [16, 16, 3],
        split: { validation: 0.2, test: 0.25, seed: 1 },
      },
      model: { type: 'classifier', inputShape: [16, 16, 3], filters: [8], latentDim: 16 },
      training: { epochs: 2, batchSize: 8, learningRate: 0.01, seed: 1 },
    });
    const done = await cluster.waitForStatus(run.id, ['SUCCEEDED', 'FAILED'], 120_000);
    expect({ status: done.status, reason: done.failureReason }).toEqual({ status: 'SUCCEEDED', reason: null });
    // What the signature cannot tell is found when the run decodes it, skipped and said.
    expect(done['dataReport']).toMatchObject({
      skippedCount: 1,
      skipped: [{ file: expect.stringContaining('truncated.png') }],
    });
  }, 180_000);
});
