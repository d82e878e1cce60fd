import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunSpecInput } from '@trainyard/contracts';
import { PackedManifestSchema, packImageFolder } from '@trainyard/datasets';
import { type Database, DatasetsRepository, openDatabase } from '@trainyard/db';
import { createFreshDatabase, type FreshDatabase } from '@trainyard/db/testing';
import { LocalObjectStore, type ObjectStore, packedManifestKey, packedShardKey } from '@trainyard/storage';
import { type S3TestServer, startS3TestServer } from '@trainyard/storage/testing';
import { Cluster, TERMINAL } from '../e2e/cluster';
import { writeColourFolder } from '../e2e/image-folder-fixtures';

const ROOT = resolve(__dirname, '../..');
const COMMAND = join(ROOT, 'dist/tools/dataset-pack/dataset-pack.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The compiled command as a subprocess with exactly `env` (no inherited settings). */
const runCommand = (env: Record<string, string>, ...args: string[]): Promise<Result> =>
  new Promise((done) => {
    execFile(
      process.execPath,
      [COMMAND, ...args],
      { env, cwd: ROOT, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });

/**
 * The compiled command, as runCommand, with `during` run once its stderr says the packing began
 * (the folder listed, no file read yet): what an operator's upload deleted meanwhile looks like.
 */
const runDuring = (env: Record<string, string>, during: () => Promise<void>, ...args: string[]): Promise<Result> =>
  new Promise((done, fail) => {
    const child = spawn(process.execPath, [COMMAND, ...args], { env, cwd: ROOT });
    const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    let stdout = '';
    let stderr = '';
    let acted: Promise<void> | undefined;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!acted && /^packing /m.test(stderr)) acted = during();
    });
    child.on('close', (code) => {
      clearTimeout(killer);
      void (acted ?? Promise.resolve()).then(() => done({ code: code ?? -1, stdout, stderr }), fail);
    });
  });

// Only this tool's files, once for both suites below: libs and apps are compiled by `npm run build`
// (run before the integration suites).
beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'tools/build.mjs'), 'tools/dataset-pack'], { cwd: ROOT });
});

/**
 * `npm run dataset:pack` as an operator runs it: the compiled command, a subprocess reading its
 * configuration from the environment, against a fresh PostgreSQL database (registered datasets)
 * and an S3 server over HTTP (the configured store, and one of the sources). Its stderr is a pipe,
 * so progress comes as plain lines.
 */
describe('dataset:pack (compiled command, PostgreSQL, S3 server)', () => {
  let s3: S3TestServer;
  let fresh: FreshDatabase;
  let db: Database;
  let store: ObjectStore;
  const home = mkdtempSync(join(tmpdir(), 'trainyard-dataset-pack-'));
  const roots = join(home, 'roots');
  const localFolder = join(roots, 'colours');
  const prefix = 'datasets/colours/';
  const s3Dataset = randomUUID();
  const localDataset = randomUUID();
  let env: Record<string, string>;

  const pack = (...args: string[]) => runCommand(env, ...args);
  const packJson = async (...args: string[]) => {
    const result = await pack(...args, '--json');
    expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(result.stdout) as {
      version: string;
      source: string;
      manifest: string;
      alreadyPacked: boolean;
      images: number;
      shards: number;
      skipped: { file: string; reason: string }[];
      pixels?: { imageShape: number[]; fit: string };
      stream: Record<string, unknown>;
    };
  };

  beforeAll(async () => {
    s3 = await startS3TestServer();
    fresh = await createFreshDatabase();
    db = await openDatabase({ url: fresh.url, embeddedPath: '' }, { log: () => undefined });
    store = await s3.objectStore();
    await writeColourFolder(store, prefix, 4);
    mkdirSync(localFolder, { recursive: true });
    await writeColourFolder(new LocalObjectStore(localFolder), '', 4);
    const datasets = new DatasetsRepository(db.prisma);
    const common = { classNames: ['blue', 'green', 'red'], counts: [4, 4, 5] };
    await datasets.create({
      ...common,
      id: s3Dataset,
      name: 'colours-s3',
      project: 'default',
      location: { kind: 's3', prefix },
      uri: store.uri(prefix),
    });
    await datasets.create({
      ...common,
      id: localDataset,
      name: 'colours-local',
      project: 'elsewhere',
      location: { kind: 'local', path: localFolder },
      uri: `file://${localFolder}/`,
    });
    env = {
      PATH: process.env['PATH'] ?? '',
      TRAINYARD_HOME: join(home, 'trainyard'),
      DATABASE_URL: fresh.url,
      ...s3.env(),
      TRAINYARD_LOCAL_ROOTS: roots,
    };
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    await fresh?.drop();
    await s3?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('packs a registered S3 dataset into the store: the version is the manifest hash packImageFolder gives', async () => {
    const printed = await packJson(s3Dataset, '--shard-mb', '0.002');
    expect(printed).toMatchObject({
      version: expect.stringMatching(/^[0-9a-f]{64}$/),
      source: store.uri(prefix),
      manifest: store.uri(packedManifestKey(printed.version)),
      alreadyPacked: false,
      // Encoded, yet the broken file (no image's signature) is left out and listed, as a load skips it.
      images: 12,
      skipped: [
        {
          file: `${prefix}red/broken.png`,
          reason: expect.stringMatching(
            /^not a readable image: not a PNG, JPEG or WebP image \(it starts with /,
          ) as unknown,
        },
      ],
      stream: { version: printed.version, shuffleBuffer: 1000, readAheadShards: 2, maxBadFraction: 0 },
    });
    expect(printed.shards).toBeGreaterThan(1);

    // The library, in this process, on the same folder and settings, into another store: same version.
    const elsewhere = new LocalObjectStore(join(home, 'library-pack'));
    const direct = await packImageFolder(store, prefix, elsewhere, { shardBytes: Math.round(0.002 * 2 ** 20) });
    expect(printed.version).toBe(direct.version);

    // What the command wrote is in the S3 store: the manifest (its bytes hash to the version) and every shard.
    const bytes = await store.get(packedManifestKey(printed.version));
    expect(sha256(bytes)).toBe(printed.version);
    const manifest = PackedManifestSchema.parse(JSON.parse(bytes.toString('utf8')));
    expect(manifest.shards).toHaveLength(printed.shards);
    for (const shard of manifest.shards)
      expect(sha256(await store.get(packedShardKey(shard.sha256)))).toBe(shard.sha256);
  });

  it('packs the same folder again to the same version and says it was already packed', async () => {
    const first = await packJson('--prefix', prefix);
    const again = await pack('--prefix', 'datasets/colours'); // the trailing slash is optional
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`version: ${first.version}`);
    expect(again.stdout).toMatch(/already in the store: the same files were packed before/);
    expect(again.stdout).toContain(`"stream": { "version": "${first.version}", "shuffleBuffer": 1000`);
    // stderr is not a terminal here: progress comes as plain lines, the last one complete.
    expect(again.stderr).toContain(`packing ${store.uri(prefix)} (13 images in 3 classes)`);
    expect(again.stderr).toMatch(/^13\/13 files packed, 1 shard written$/m);
    expect(again.stderr).not.toContain('\r');
  });

  it('packs a local dataset of another project by id, and the same folder by --path, decoded, to one version', async () => {
    const byId = await packJson(localDataset, '--decode-to', '8x8x3', '--fit', 'fill');
    expect(byId).toMatchObject({
      source: `file://${localFolder}/`,
      images: 12,
      pixels: { imageShape: [8, 8, 3], fit: 'fill' },
      skipped: [{ file: 'red/broken.png', reason: expect.stringMatching(/not a readable image/) }],
    });
    const byPath = await pack('--path', localFolder, '--decode-to', '8x8x3', '--fit', 'fill');
    expect(byPath.code).toBe(0);
    expect(byPath.stdout).toContain(`version: ${byId.version}`);
    expect(byPath.stdout).toContain('"imageShape": [8, 8, 3], "fit": "fill",');
    expect(byPath.stdout).toContain('red/broken.png: not a readable image');
    expect(await store.get(packedManifestKey(byId.version))).toBeInstanceOf(Buffer);
  });

  it('exits 2 naming what refused: an unknown dataset id, a path outside the roots, a prefix with nothing under it', async () => {
    const unknown = randomUUID();
    const notRegistered = await pack(unknown);
    expect(notRegistered).toMatchObject({ code: 2, stdout: '' });
    expect(notRegistered.stderr).toContain(`dataset ${unknown} is not registered`);

    const outside = await pack('--path', home);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain(`--path ${home}: is not inside a folder this server may read`);
    // Links inside the roots to a folder outside that exists and to one that does not, and a folder
    // missing inside the roots: one answer, so the command reveals nothing about paths outside.
    const linkOut = join(roots, 'link-out');
    const dangling = join(roots, 'dangling');
    symlinkSync(home, linkOut);
    symlinkSync(join(home, 'no-such-folder'), dangling);
    for (const path of [linkOut, dangling, join(roots, 'no-such-folder')]) {
      const refused = await pack('--path', path);
      expect({ path, code: refused.code, stderr: refused.stderr.replace(path, '<path>') }).toEqual({
        path,
        code: 2,
        stderr: outside.stderr.replace(home, '<path>'),
      });
    }

    // A row naming every project's uploads (written before registrations were checked) is not packed.
    const uploadsRow = randomUUID();
    await new DatasetsRepository(db.prisma).create({
      id: uploadsRow,
      name: 'all-uploads',
      project: 'default',
      classNames: ['a', 'b'],
      counts: [1, 1],
      location: { kind: 's3', prefix: 'datasets/uploads/' },
      uri: store.uri('datasets/uploads/'),
    });
    const internalRow = await pack(uploadsRow);
    expect(internalRow.code).toBe(2);
    expect(internalRow.stderr).toContain(`location.prefix datasets/uploads/ is in or holds datasets/uploads/`);
    // Nor the local store's uploads, where the roots hold it (the demo's store, no S3 configured).
    const localUploads = join(roots, 'store', 'objects', 'datasets', 'uploads');
    mkdirSync(join(localUploads, randomUUID()), { recursive: true });
    const localStore = await runCommand(
      { PATH: env['PATH'], TRAINYARD_HOME: join(roots, 'store'), TRAINYARD_LOCAL_ROOTS: roots },
      '--path',
      localUploads,
    );
    expect(localStore.code).toBe(2);
    expect(localStore.stderr).toContain(`--path ${localUploads}: expected a folder of your own: it is in or holds`);

    const missing = await pack('--prefix', 'datasets/nothing-here/');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      `${store.uri('datasets/nothing-here/')} cannot be used: it has no class subfolders`,
    );
  });

  it('exits 2 writing no version when the folder or its dataset goes while it is packed', async () => {
    const changing = 'datasets/changing/';
    const id = randomUUID();
    await new DatasetsRepository(db.prisma).create({
      id,
      name: 'changing',
      project: 'default',
      classNames: ['blue', 'green', 'red'],
      counts: [200, 200, 201],
      location: { kind: 's3', prefix: changing },
      uri: store.uri(changing),
    });
    const packedNow = async () => (await store.list('datasets/packed/')).map((o) => o.key);
    const before = await packedNow();

    // The upload deleted (DELETE /v1/datasets/:id removes its objects first) while its files are read.
    await writeColourFolder(store, changing, 200);
    const deleted = await runDuring(
      env,
      async () => {
        await store.delete((await store.list(changing)).map((o) => o.key));
      },
      id,
    );
    expect(deleted.code).toBe(2);
    expect(deleted.stderr).toMatch(
      new RegExp(
        `changed while it was packed: ${store.uri(changing)}\\S+ was listed but is gone .*no version was written: pack it again`,
      ),
    );
    expect(deleted.stdout).toBe('');
    expect(await packedNow()).toEqual(before);

    // The row deleted once the files were listed: they are all read, and no manifest is written.
    await writeColourFolder(store, changing, 200);
    const unregistered = await runDuring(
      env,
      async () => {
        await db.prisma.dataset.delete({ where: { id } });
      },
      id,
    );
    expect(unregistered.code).toBe(2);
    expect(unregistered.stderr).toContain(`dataset ${id} was deleted while it was packed: no version was written`);
    expect(unregistered.stderr).toMatch(/^601\/601 files packed/m);
    expect(await packedNow()).toEqual(before);
  });

  it('exits 2 naming a class with no image a run could learn, encoded or decoded', async () => {
    const folder = 'datasets/html-class/';
    await writeColourFolder(store, folder, 4);
    // Error pages saved as .jpg: the in-memory load refuses the class, so does the pack.
    for (let i = 0; i < 6; i++) await store.put(`${folder}bad/${i}.jpg`, Buffer.from('<html>Not found</html>'));
    const before = (await store.list('datasets/packed/')).length;
    const encoded = await pack('--prefix', folder);
    expect({ code: encoded.code, stdout: encoded.stdout }).toEqual({ code: 2, stdout: '' });
    expect(encoded.stderr).toContain('class "bad" has no PNG, JPEG or WebP image: none of its 6 files starts as one');
    const decoded = await pack('--prefix', folder, '--decode-to', '8x8x3');
    expect(decoded.code).toBe(2);
    expect(decoded.stderr).toContain('class "bad" has no readable image: its 6 files were left out');
    expect((await store.list('datasets/packed/')).length).toBe(before);
  });

  it('exits 1 naming the bad flag', async () => {
    const cases: [string[], string][] = [
      [['--prefix', prefix, '--shards', '3'], "'--shards'"],
      [['--prefix', prefix, '--shard-mb', 'lots'], '--shard-mb: expected a number of MiB'],
      [['--prefix', prefix, '--decode-to', '224x224'], '--decode-to: expected HEIGHTxWIDTHxCHANNELS'],
      // Shapes no run can train at: refused before anything is read, not packed as "no image could be read".
      [['--prefix', prefix, '--decode-to', '32x32x4'], '--decode-to 32x32x4: channels: Expected 1 (grey) or 3 (RGB)'],
      // Every project's uploads, each upload's folder a class: the API refuses this prefix too.
      [['--prefix', 'datasets/uploads/'], '--prefix datasets/uploads/: expected a folder of your own'],
      [['--prefix', prefix, '--fit', 'cover'], '--fit: only with --decode-to'],
      [['--prefix', prefix, '--path', localFolder], 'name one thing to pack, not --prefix and --path'],
      [[], 'name what to pack'],
    ];
    for (const [args, message] of cases) {
      const result = await pack(...args);
      expect({ args, code: result.code, named: result.stderr.includes(message) }).toEqual({
        args,
        code: 1,
        named: true,
      });
    }
  });
});

/**
 * The whole path: a folder registered through the API, packed by the command with the fleet's
 * settings, and a fine-tune naming the printed version streams it on a worker and succeeds.
 */
describe('dataset:pack → streamed fine-tune (API, worker, PostgreSQL, S3 server)', () => {
  let cluster: Cluster;
  const home = mkdtempSync(join(tmpdir(), 'trainyard-dataset-pack-e2e-'));
  const prefix = 'datasets/colours-e2e/';

  beforeAll(async () => {
    cluster = await Cluster.start();
    await writeColourFolder(cluster.store, prefix, 8);
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('trains from the version the command printed, and records it on the run', async () => {
    const registered = await cluster.fetch(`${cluster.baseUrl}/v1/datasets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'colours', location: { kind: 's3', prefix } }),
    });
    expect(registered.status).toBe(201);
    const datasetId = ((await registered.json()) as { id: string }).id;

    const packed = await runCommand(
      { PATH: process.env['PATH'] ?? '', ...cluster.env, TRAINYARD_HOME: join(home, 'pack') },
      datasetId,
      '--shard-mb',
      '0.004',
      '--json',
    );
    expect({ code: packed.code, stderr: packed.code === 0 ? '' : packed.stderr }).toEqual({ code: 0, stderr: '' });
    const { version, stream, shards } = JSON.parse(packed.stdout) as {
      version: string;
      shards: number;
      stream: { version: string; shuffleBuffer: number; readAheadShards: number; maxBadFraction: number };
    };
    expect(shards).toBeGreaterThan(1);

    await cluster.startWorker({ TRAINYARD_HOME: join(home, 'worker') });
    const spec: RunSpecInput = {
      kind: 'finetune',
      name: 'from dataset:pack',
      dataset: {
        name: 'image-folder',
        datasetId,
        imageShape: [16, 16, 3],
        split: { validation: 0.2, test: 0.2, seed: 1 },
        // The pasted snippet, with a smaller buffer for 25 images and room for the broken file.
        stream: { ...stream, shuffleBuffer: 6, maxBadFraction: 0.2 },
      },
      model: { type: 'classifier', inputShape: [16, 16, 3], filters: [8], latentDim: 16, headUnits: 8 },
      training: { epochs: 2, batchSize: 5, learningRate: 0.01, seed: 7 },
    };
    const runId = await cluster.submit(spec);
    const run = await cluster.waitForStatus(runId, TERMINAL, 240_000);
    expect({ status: run.status, reason: run.failureReason }).toEqual({ status: 'SUCCEEDED', reason: null });
    // The broken file, left out by the pack, is listed in the report and is no image of the version;
    // files counts it with the 24 images, as a folder's report would (splits + skippedCount).
    expect(run.dataReport).toMatchObject({ packedVersion: version, files: 25, skippedCount: 1 });
  }, 400_000);
});
