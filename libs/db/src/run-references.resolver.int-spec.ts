import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DatasetLocation, RunSpecSchema } from '@trainyard/contracts';
import { packImageFolder } from '@trainyard/datasets';
import { LocalObjectStore, normalizeObjectPrefix, type ObjectStore, packedManifestKey } from '@trainyard/storage';
import { type S3TestServer, startS3TestServer } from '@trainyard/storage/testing';
import { CheckpointsRepository } from './checkpoints.repository';
import { DatasetsRepository } from './datasets.repository';
import { RunReferenceRefusedError } from './errors';
import type { Database } from './open-database';
import { RunReferencesResolver } from './run-references.resolver';
import { RunsRepository } from './runs.repository';
import { useMigratedDatabase } from './testing';

/** A PNG's first bytes: all an encoded pack reads of a file (it decodes nothing), so images enough here. */
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A streamed dataset version belongs to the dataset a spec names only if it was packed from that
 * dataset's folder: checked at submit (atSubmit) and again by the worker before anything is read
 * (atStart), against versions packed the way `npm run dataset:pack` packs them (packImageFolder
 * over a store at the folder's real path for a dataset id or `--path`, over the configured store
 * at the normalised prefix for an S3 dataset or `--prefix`).
 */
describe('packed versions and the dataset they stream for (PostgreSQL, local object store)', () => {
  let db: Database;
  let base: string;
  let data: string;
  let store: LocalObjectStore;
  let datasets: DatasetsRepository;
  let runs: RunsRepository;
  const resolver = () => new RunReferencesResolver(db.prisma, { store, localRoots: [data] });

  useMigratedDatabase((opened) => {
    db = opened;
    datasets = new DatasetsRepository(db.prisma);
    runs = new RunsRepository(db.prisma);
  });
  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-versions-')));
    data = join(base, 'data');
    store = new LocalObjectStore(join(base, 'objects'));
    for (const folder of ['flowers', 'flowers2', 'other'])
      for (const file of ['cat/1.png', 'dog/1.png']) write(join(data, folder, file));
    symlinkSync(join(data, 'flowers'), join(data, 'link'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  function write(path: string) {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, PNG_SIGNATURE);
  }
  async function dataset(location: DatasetLocation, project = 'default', classNames = ['cat', 'dog']): Promise<string> {
    const id = randomUUID();
    await datasets.create({
      id,
      name: id,
      project,
      location,
      uri: 'file:///x',
      classNames,
      counts: [1, 1],
    });
    return id;
  }
  /** dataset:pack of a dataset id or `--path`: a store of its own at the folder's real path. */
  const packPath = async (path: string) =>
    (await packImageFolder(new LocalObjectStore(realpathSync(path)), '', store)).version;
  /** dataset:pack of an S3 dataset or `--prefix`: the configured store, the prefix normalised. */
  const packPrefix = async (prefix: string) =>
    (await packImageFolder(store, normalizeObjectPrefix(prefix), store)).version;
  const streaming = (datasetId: string, version: string) =>
    RunSpecSchema.parse({
      kind: 'finetune',
      name: 'f',
      dataset: { name: 'image-folder', datasetId, imageShape: [8, 8, 3], stream: { version } },
      model: { type: 'classifier' },
    });
  async function refusedAtSubmit(datasetId: string, version: string): Promise<RunReferenceRefusedError> {
    const error = await resolver()
      .atSubmit(streaming(datasetId, version), 'default')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunReferenceRefusedError);
    expect((error as RunReferenceRefusedError).field).toBe('dataset.stream.version');
    return error as RunReferenceRefusedError;
  }
  const record = (datasetId: string, version: string) =>
    runs.create({
      id: randomUUID(),
      kind: 'FINETUNE',
      name: 'f',
      spec: streaming(datasetId, version),
      baseRunId: null,
    });

  it('refuses at submit a dataset registered with a class folder every worker now refuses, naming it', async () => {
    const id = await dataset({ kind: 'local', path: join(data, 'flowers') }, 'default', ['cat', 'dog\u202egpj']);
    const spec = RunSpecSchema.parse({
      kind: 'finetune',
      name: 'f',
      dataset: { name: 'image-folder', datasetId: id, imageShape: [8, 8, 3] },
      model: { type: 'classifier', inputShape: [8, 8, 3] },
    });
    await expect(resolver().atSubmit(spec, 'default')).rejects.toMatchObject({
      field: 'dataset.datasetId',
      why: expect.stringMatching(/class folder "dog\\u202egpj": Bidirectional formatting character U\+202E/),
    });
  });

  it('takes a version of the folder itself, packed by id or by --path, and counts its images and classes', async () => {
    const flowers = await dataset({ kind: 'local', path: join(data, 'flowers') });
    // Registered with 2 images; 3 more since: the version holds what the run will train on.
    for (const file of ['cat/2.png', 'dog/2.png', 'dog/3.png']) write(join(data, 'flowers', file));
    const version = await packPath(join(data, 'flowers'));
    expect(await packPath(join(data, 'link'))).toBe(version); // --path through a link: realpath
    expect(await resolver().atSubmit(streaming(flowers, version), 'default')).toMatchObject({
      folderImages: 5,
      folderClasses: 2,
    });
  });

  it('takes a version of the prefix of an S3 dataset, packed by id or by --prefix, spelt with or without its slash', async () => {
    for (const file of ['cat/1.png', 'dog/1.png']) await store.put(`datasets/tulips/${file}`, PNG_SIGNATURE);
    const tulips = await dataset({ kind: 's3', prefix: 'datasets/tulips/' });
    for (const version of [
      await packPrefix('datasets/tulips/'),
      await packPrefix('datasets/tulips'),
      // packImageFolder itself records `store.uri(prefix)` of the prefix as given.
      (await packImageFolder(store, 'datasets/tulips', store)).version,
    ])
      expect(await resolver().atSubmit(streaming(tulips, version), 'default')).toMatchObject({ folderImages: 2 });
  });

  it('refuses, at submit and on the worker, a version of another folder as it refuses a missing one', async () => {
    const flowers = await dataset({ kind: 'local', path: join(data, 'flowers2') });
    const theirs = await dataset({ kind: 'local', path: join(data, 'other') }, 'theirs');
    const missing = 'ab'.repeat(32);
    const foreign = [
      await packPath(join(data, 'other')), // another project's dataset
      await packPath(join(data, 'flowers')), // a sibling: flowers/ is not flowers2/
      await packPath(join(data, 'flowers2', 'cat', '..')), // resolved: the folder itself (below)
    ];
    const answer = (await refusedAtSubmit(flowers, missing)).why.replace(missing, '<v>');
    expect(answer).toMatch(/^no packed version <v> of dataset .* a version streams only the folder it was packed from/);
    for (const version of foreign.slice(0, 2))
      expect((await refusedAtSubmit(flowers, version)).why.replace(version, '<v>')).toBe(answer);
    // Their own dataset streams their version.
    await expect(resolver().atSubmit(streaming(theirs, foreign[0]!), 'theirs')).resolves.toMatchObject({
      folderImages: 2,
    });

    // A run recorded before the check (or by another path) is stopped by the worker, naming the field.
    for (const version of [missing, ...foreign.slice(0, 2)]) {
      const started = await resolver().atStart(await record(flowers, version), streaming(flowers, version));
      expect(started).toEqual({
        ok: false,
        reason: expect.stringMatching(/^dataset\.stream\.version no packed version/),
      });
    }
    const own = foreign[2]!;
    expect(await resolver().atStart(await record(flowers, own), streaming(flowers, own))).toMatchObject({ ok: true });
  });

  it('checks a version of a million images without stalling the process on its manifest', async () => {
    // The manifest lists every image (~70 MB here): it was read whole, decoded to a string and
    // parsed, which held the API's (and the worker's) event loop for 1.2 s and ~330 MB at each
    // read. Only its head (format, source, classNames, images) is parsed now, the rest only hashed.
    const flowers = await dataset({ kind: 'local', path: join(data, 'flowers') });
    const small = JSON.parse((await store.get(packedManifestKey(await packPath(join(data, 'flowers'))))).toString());
    const entries = Array.from({ length: 1000 }, (_, i) =>
      JSON.stringify({ key: `cat/image-${String(i).padStart(7, '0')}.png`, label: i % 2, bytes: 51234 }),
    ).join(',');
    const shard = `{"sha256":"${'a'.repeat(64)}","bytes":51234000,"entries":[${entries}]}`;
    const head = JSON.stringify({ ...small, images: 1_000_000, shards: undefined }).slice(0, -1);
    const bytes = Buffer.from(`${head},"shards":[${Array(1000).fill(shard).join(',')}]}`);
    const version = createHash('sha256').update(bytes).digest('hex');
    await store.put(packedManifestKey(version), bytes);
    let longest = 0;
    let last = performance.now();
    const beat = setInterval(() => {
      longest = Math.max(longest, performance.now() - last);
      last = performance.now();
    }, 5);
    try {
      const checked = await resolver().atSubmit(streaming(flowers, version), 'default');
      expect(checked).toMatchObject({ folderImages: 1_000_000 });
    } finally {
      clearInterval(beat);
    }
    expect(longest).toBeLessThan(400);
  }, 60_000);

  it('refuses on the worker a version whose manifest went, or was altered, since submit', async () => {
    const flowers = await dataset({ kind: 'local', path: join(data, 'flowers') });
    const version = await packPath(join(data, 'flowers'));
    // One resolver, as in a process that both submits and works (the demo): the worker reads afresh.
    const one = resolver();
    await one.atSubmit(streaming(flowers, version), 'default');
    const run = await record(flowers, version);
    expect(await one.atStart(run, streaming(flowers, version))).toMatchObject({ ok: true });
    const manifest = await store.get(packedManifestKey(version));
    await store.put(packedManifestKey(version), Buffer.concat([manifest, Buffer.from(' ')]));
    expect(await one.atStart(run, streaming(flowers, version))).toEqual({
      ok: false,
      reason: expect.stringMatching(/^dataset\.stream\.version the manifest .* altered or truncated/),
    });
    await store.delete([packedManifestKey(version)]);
    expect(await one.atStart(run, streaming(flowers, version))).toEqual({
      ok: false,
      reason: expect.stringMatching(/^dataset\.stream\.version no packed version/),
    });
  });
});

describe('packed versions of S3 datasets (PostgreSQL, S3 over HTTP)', () => {
  let db: Database;
  let s3: S3TestServer;
  let store: ObjectStore;

  useMigratedDatabase((opened) => {
    db = opened;
  });
  beforeAll(async () => {
    s3 = await startS3TestServer();
    store = await s3.objectStore();
    for (const folder of ['tulips', 'tulips2'])
      for (const file of ['cat/1.png', 'dog/1.png']) await store.put(`datasets/${folder}/${file}`, PNG_SIGNATURE);
  });
  afterAll(() => s3?.stop());

  it('takes the prefix’s own version (s3://bucket/prefix/) and refuses a sibling’s', async () => {
    const id = randomUUID();
    await new DatasetsRepository(db.prisma).create({
      id,
      name: 'tulips',
      project: 'default',
      location: { kind: 's3', prefix: 'datasets/tulips/' },
      uri: store.uri('datasets/tulips/'),
      classNames: ['cat', 'dog'],
      counts: [1, 1],
    });
    const own = await packImageFolder(store, normalizeObjectPrefix('datasets/tulips'), store);
    expect(own.manifest.source).toBe(`s3://${s3.bucket}/datasets/tulips/`);
    const sibling = (await packImageFolder(store, 'datasets/tulips2/', store)).version;
    const resolver = new RunReferencesResolver(db.prisma, { store, localRoots: [] });
    const spec = (version: string) =>
      RunSpecSchema.parse({
        kind: 'finetune',
        name: 'f',
        dataset: { name: 'image-folder', datasetId: id, imageShape: [8, 8, 3], stream: { version } },
        model: { type: 'classifier' },
      });
    expect(await resolver.atSubmit(spec(own.version), 'default')).toMatchObject({ folderImages: 2 });
    await expect(resolver.atSubmit(spec(sibling), 'default')).rejects.toMatchObject({
      field: 'dataset.stream.version',
      why: expect.stringContaining(`no packed version ${sibling} of dataset ${id} in s3://${s3.bucket}`),
    });
  });
});

/**
 * A fine-tune on a pretrain's encoder trains that encoder: its stored spec takes the pretrain's
 * architecture, and a field given another value (not the default) is refused, naming it.
 */
describe("a fine-tune's encoder fields and its base (PostgreSQL)", () => {
  let db: Database;
  let runs: RunsRepository;
  const resolver = () =>
    new RunReferencesResolver(db.prisma, { store: new LocalObjectStore(tmpdir()), localRoots: [] });

  useMigratedDatabase((opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
  });

  /** A SUCCEEDED pretrain of 16×16 shapes with filters [8, 16], latent 32 (linear) and a COMPLETE checkpoint. */
  async function pretrain(): Promise<string> {
    const id = randomUUID();
    const spec = RunSpecSchema.parse({
      kind: 'pretrain',
      name: 'base',
      dataset: { name: 'synthetic-shapes', imageSize: 16 },
      model: { type: 'conv-autoencoder', filters: [8, 16], latentDim: 32, latentActivation: 'linear' },
    });
    await runs.create({ id, kind: 'PRETRAIN', name: 'base', spec, baseRunId: null });
    await runs.markRunning(id, 'cpu');
    const checkpoints = new CheckpointsRepository(db.prisma);
    const begun = await checkpoints.begin({
      runId: id,
      attemptId: null,
      sequence: 1,
      epoch: 1,
      step: 1,
      uri: `file:///x/${id}/`,
      models: ['autoencoder', 'encoder'],
    });
    await checkpoints.complete(begun.id, 1, 'a'.repeat(64));
    await runs.finish(id, 'SUCCEEDED');
    return id;
  }
  const finetune = (baseRunId: string, model: Record<string, unknown> = {}) =>
    RunSpecSchema.parse({
      kind: 'finetune',
      name: 'f',
      dataset: { name: 'synthetic-shapes', imageSize: 16 },
      model: { type: 'classifier', baseRunId, ...model },
    });

  it("records the base's architecture in the spec, and refuses a field given otherwise", async () => {
    const base = await pretrain();
    const { spec } = await resolver().atSubmit(finetune(base), 'default');
    expect(spec.kind === 'finetune' && spec.model).toMatchObject({
      inputShape: [16, 16, 1],
      filters: [8, 16],
      latentDim: 32,
      latentActivation: 'linear',
    });
    // The base's own values, or the defaults, are no conflict.
    await resolver().atSubmit(finetune(base, { filters: [8, 16], latentDim: 64 }), 'default');
    for (const [field, value] of [
      ['filters', [32, 64]],
      ['latentDim', 128],
    ] as const) {
      const refused = await resolver()
        .atSubmit(finetune(base, { [field]: value }), 'default')
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RunReferenceRefusedError);
      expect((refused as RunReferenceRefusedError).field).toBe(`model.${field}`);
      expect((refused as RunReferenceRefusedError).why).toContain("a classifier with a base trains the base's encoder");
    }
  });
});
