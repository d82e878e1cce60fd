import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '@trainyard/config';
import { RunSpecSchema, type DatasetLocation, type RunSpec } from '@trainyard/contracts';
import {
  CheckpointsRepository,
  DatasetsRepository,
  openDatabase,
  RunReferencesResolver,
  RunsRepository,
  type Database,
  type Run,
} from '@trainyard/db';
import { createFreshDatabase, type FreshDatabase } from '@trainyard/db/testing';
import { LocalObjectStore } from '@trainyard/storage';
import { RunInputsResolver } from './run-inputs.resolver';

/**
 * What a worker resolves before a training process opens anything (RunReferencesResolver.atStart),
 * against a real PostgreSQL: local paths under the worker's TRAINYARD_LOCAL_ROOTS (issue #9), the
 * checkpoint pinned at submit read again, a registered dataset of the run's project.
 */
describe('RunInputsResolver (PostgreSQL)', () => {
  let base: string;
  let root: string;
  let outside: string;
  let fresh: FreshDatabase;
  let db: Database;
  let runs: RunsRepository;
  let checkpoints: CheckpointsRepository;
  let datasets: DatasetsRepository;

  beforeAll(async () => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-resolver-')));
    root = join(base, 'root');
    outside = join(base, 'outside');
    mkdirSync(join(root, 'flowers'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(root, 'model.json'), '{}');
    writeFileSync(join(outside, 'model.json'), 'root:x:0:0:root:/root:/bin/bash');
    symlinkSync(outside, join(root, 'escape'));
    fresh = await createFreshDatabase();
    db = await openDatabase({ url: fresh.url, embeddedPath: '' });
    runs = new RunsRepository(db.prisma);
    checkpoints = new CheckpointsRepository(db.prisma);
    datasets = new DatasetsRepository(db.prisma);
  });
  afterAll(async () => {
    await db?.close();
    await fresh?.drop();
    rmSync(base, { recursive: true, force: true });
  });

  function resolver(roots: string[], env: Record<string, string> = {}) {
    const config = loadConfig({
      TRAINYARD_HOME: join(base, 'home'),
      ...(roots.length ? { TRAINYARD_LOCAL_ROOTS: roots.join(':') } : {}),
      ...env,
    });
    return new RunInputsResolver(
      config,
      new RunReferencesResolver(db.prisma, {
        store: new LocalObjectStore(join(base, 'objects')),
        localRoots: config.paths.localRoots,
      }),
    );
  }
  async function dataset(location: DatasetLocation, project = 'default'): Promise<string> {
    const id = randomUUID();
    await datasets.create({
      id,
      name: `set ${id}`,
      project,
      location,
      uri: 'file:///x',
      classNames: ['a', 'b'],
      counts: [1, 1],
    });
    return id;
  }
  const finetune = (datasetId: string, model: Record<string, unknown> = {}): RunSpec =>
    RunSpecSchema.parse({
      kind: 'finetune',
      name: 'f',
      dataset: { name: 'image-folder', datasetId, imageShape: [8, 8, 3] },
      model: { type: 'classifier', ...model },
    });
  const shapes = { name: 'synthetic-shapes', imageSize: 8 };
  /** A run as the API records it: `baseCheckpointId` is the pin. */
  const record = (
    spec: RunSpec,
    baseCheckpointId: string | null = null,
    baseRunId: string | null = null,
  ): Promise<Run> =>
    runs.create({
      id: randomUUID(),
      kind: spec.kind === 'finetune' ? 'FINETUNE' : 'EVALUATE',
      name: spec.name,
      spec,
      baseRunId,
      baseCheckpointId,
    });
  async function checkpointOf(models: string[], status: 'COMPLETE' | 'CORRUPT' = 'COMPLETE') {
    const run = await runs.create({
      id: randomUUID(),
      kind: 'PRETRAIN',
      name: 'p',
      spec: RunSpecSchema.parse({ kind: 'pretrain', name: 'p', dataset: shapes }),
      baseRunId: null,
    });
    const begun = await checkpoints.begin({
      runId: run.id,
      attemptId: null,
      sequence: 3,
      epoch: 3,
      step: 30,
      uri: `file:///ckpt/${run.id}/3/`,
      models,
    });
    await checkpoints.complete(begun.id, 1, 'a'.repeat(64));
    if (status === 'CORRUPT') await checkpoints.markCorrupt(begun.id);
    return { runId: run.id, checkpointId: begun.id };
  }

  it('hands the training a folder under the roots, with the roots, walk bounds, cache caps and parameter quota', async () => {
    const location = { kind: 'local' as const, path: join(root, 'flowers') };
    const spec = finetune(await dataset(location));
    const resolved = await resolver([root], { QUOTA_MODEL_PARAMETERS: '2500000' }).resolve(await record(spec), spec);
    expect(resolved).toMatchObject({
      ok: true,
      inputs: {
        imageFolder: location,
        paths: { localRoots: [root], walkMaxFiles: 1_000_000 },
        imageCacheBytes: 10 * 1024 ** 3,
        shardCacheBytes: expect.any(Number),
        // The training process holds a head on a base it reads to it (finetune-head-size.int-spec.ts).
        modelParameterQuota: 2_500_000,
      },
    });
  });

  it('fails a run whose dataset lies outside the roots (or through a link out of them), naming the field', async () => {
    for (const path of [outside, join(root, 'escape'), `${root}/../outside`]) {
      const datasetId = await dataset({ kind: 'local', path });
      const spec = finetune(datasetId);
      const resolved = await resolver([root]).resolve(await record(spec), spec);
      expect(resolved).toEqual({
        ok: false,
        reason: `dataset ${datasetId} location.path is not inside a folder this server may read (TRAINYARD_LOCAL_ROOTS)`,
      });
    }
    const spec = finetune(await dataset({ kind: 'local', path: join(root, 'flowers') }));
    expect(await resolver([]).resolve(await record(spec), spec)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/location\.path .*TRAINYARD_LOCAL_ROOTS/),
    });
  });

  it('fails a run whose imported model is outside the roots or in another bucket, never quoting the file', async () => {
    const datasetId = await dataset({ kind: 's3', prefix: 'sets/x/' });
    const inRoot = finetune(datasetId, { importedModel: { uri: pathToFileURL(join(root, 'model.json')).href } });
    expect(await resolver([root]).resolve(await record(inRoot), inRoot)).toMatchObject({ ok: true });
    for (const uri of [
      pathToFileURL(join(outside, 'model.json')).href,
      join(root, 'escape', 'model.json'),
      's3://elsewhere/model.json',
    ]) {
      const spec = finetune(datasetId, { importedModel: { uri } });
      const resolved = await resolver([root]).resolve(await record(spec), spec);
      expect(resolved).toMatchObject({ ok: false, reason: expect.stringMatching(/^model\.importedModel\.uri /) });
      expect(JSON.stringify(resolved)).not.toMatch(/root:x|bin\/bash/);
    }
  });

  it('fails a run whose dataset is gone or belongs to another project', async () => {
    for (const datasetId of [randomUUID(), await dataset({ kind: 's3', prefix: 'sets/y/' }, 'elsewhere')]) {
      const spec = finetune(datasetId);
      expect(await resolver([root]).resolve(await record(spec), spec)).toEqual({
        ok: false,
        reason: `dataset ${datasetId} is not registered (POST /v1/datasets)`,
      });
    }
  });

  it('reads the pinned checkpoint: its uri, sequence and the model it gives', async () => {
    const { runId, checkpointId } = await checkpointOf(['autoencoder', 'encoder']);
    const spec = RunSpecSchema.parse({
      kind: 'finetune',
      name: 'f',
      dataset: shapes,
      model: { type: 'classifier', baseRunId: runId },
    });
    const resolved = await resolver([root]).resolve(await record(spec, checkpointId, runId), spec);
    expect(resolved).toMatchObject({
      ok: true,
      inputs: {
        baseCheckpointUri: `file:///ckpt/${runId}/3/`,
        baseCheckpointModel: 'encoder',
        baseCheckpointSequence: 3,
      },
    });
  });

  it("hands an evaluation what the evaluated run's row recorded: its classes and the files its data report counted", async () => {
    const datasetId = await dataset({ kind: 'local', path: join(root, 'flowers') });
    const writer = await record(finetune(datasetId));
    const begun = await checkpoints.begin({
      runId: writer.id,
      attemptId: null,
      sequence: 2,
      epoch: 2,
      step: 20,
      uri: `file:///ckpt/${writer.id}/2/`,
      models: ['classifier'],
    });
    await checkpoints.complete(begun.id, 1, 'a'.repeat(64));
    const evaluation = RunSpecSchema.parse({
      kind: 'evaluate',
      name: 'e',
      checkpoint: { runId: writer.id },
      dataset: { name: 'image-folder', datasetId, imageShape: [8, 8, 3] },
    });
    const run = await record(evaluation, begun.id, writer.id);
    // Before the run recorded anything: nothing to check against but the checkpoint.
    expect(await resolver([root]).resolve(run, evaluation)).toMatchObject({
      ok: true,
      inputs: { baseCheckpointTrainedOn: { classNames: null, files: null } },
    });
    await db.prisma.run.update({
      where: { id: writer.id },
      data: {
        dataReport: {
          classNames: ['a', 'b'],
          files: 12,
          skippedCount: 1,
          splits: { train: 7, validation: 1, test: 3 },
        },
        result: { split: 'test', classNames: ['a', 'b'], accuracy: 1 },
      },
    });
    expect(await resolver([root]).resolve(run, evaluation)).toMatchObject({
      ok: true,
      inputs: { baseCheckpointTrainedOn: { classNames: ['a', 'b'], files: { found: 12, skipped: 1 } } },
    });
  });

  it('fails a run whose pinned checkpoint was found CORRUPT, or holds no model it can use, saying which', async () => {
    const corrupt = await checkpointOf(['autoencoder', 'encoder'], 'CORRUPT');
    const spec = RunSpecSchema.parse({
      kind: 'finetune',
      name: 'f',
      dataset: shapes,
      model: { type: 'classifier', baseRunId: corrupt.runId },
    });
    expect(await resolver([root]).resolve(await record(spec, corrupt.checkpointId, corrupt.runId), spec)).toEqual({
      ok: false,
      reason: `base run ${corrupt.runId} cannot be fine-tuned from: its pinned checkpoint ${corrupt.checkpointId} is CORRUPT`,
    });
    // Was "… is COMPLETE with an classifier": a COMPLETE checkpoint reported as if it were the problem, with the wrong article.
    const encoderOnly = await checkpointOf(['autoencoder', 'encoder']);
    const evaluation = RunSpecSchema.parse({
      kind: 'evaluate',
      name: 'e',
      checkpoint: { runId: encoderOnly.runId },
      dataset: shapes,
    });
    expect(
      await resolver([root]).resolve(await record(evaluation, encoderOnly.checkpointId, encoderOnly.runId), evaluation),
    ).toEqual({
      ok: false,
      reason: `evaluated run ${encoderOnly.runId} cannot be evaluated: its pinned checkpoint ${encoderOnly.checkpointId} (#3) holds no classifier (it has: autoencoder, encoder)`,
    });
  });

  /**
   * A worker used to take an unpinned base run's latest checkpoint, for runs recorded before
   * pinning. Pinning (runs.base_checkpoint_id, migration 20261128190000_fencing) came 24 minutes
   * after the first migration, on a day nothing was deployed yet (commit 178a1a5 says so, after
   * both), and every writer of a run with a base pins it since (submit, sweeps, a pipeline's
   * release): no stored run can need that branch, so an unpinned base is refused, not guessed.
   */
  it('fails a run that builds on a checkpoint but has none pinned', async () => {
    const { runId } = await checkpointOf(['autoencoder', 'encoder']);
    const spec = RunSpecSchema.parse({
      kind: 'finetune',
      name: 'f',
      dataset: shapes,
      model: { type: 'classifier', baseRunId: runId },
    });
    const run = await record(spec, null, runId);
    expect(await resolver([root]).resolve(run, spec)).toEqual({
      ok: false,
      reason: `base run ${runId} cannot be fine-tuned from: run ${run.id} was recorded without a pinned checkpoint`,
    });
  });
});
