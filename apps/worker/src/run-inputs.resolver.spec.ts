import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '@trainyard/config';
import { RunSpecSchema, type RunSpec } from '@trainyard/contracts';
import type { CheckpointsRepository, DatasetsRepository, Run } from '@trainyard/db';
import { CheckpointStore, LocalObjectStore } from '@trainyard/storage';
import { RunInputsResolver } from './run-inputs.resolver';

/** The worker's own check of local paths, before a training thread opens anything (issue #9). */
describe('RunInputsResolver: local paths under the worker’s TRAINYARD_LOCAL_ROOTS', () => {
  let base: string;
  let root: string;
  let outside: string;
  const datasetId = randomUUID();
  let location: { kind: 'local'; path: string } | { kind: 's3'; prefix: string };

  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-resolver-')));
    root = join(base, 'root');
    outside = join(base, 'outside');
    mkdirSync(join(root, 'flowers'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(root, 'model.json'), '{}');
    writeFileSync(join(outside, 'model.json'), 'root:x:0:0:root:/root:/bin/bash');
    symlinkSync(outside, join(root, 'escape'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  function resolver(roots: string[]) {
    const config = loadConfig({ TRAINYARD_HOME: join(base, 'home'), ...(roots.length ? { TRAINYARD_LOCAL_ROOTS: roots.join(':') } : {}) });
    const datasets = { get: async (id: string) => (id === datasetId ? { id, location } : null) } as unknown as DatasetsRepository;
    const store = new CheckpointStore(new LocalObjectStore(join(base, 'objects')));
    return new RunInputsResolver(config, store, {} as CheckpointsRepository, datasets);
  }
  const run = { id: randomUUID(), baseCheckpointId: null } as unknown as Run;
  const finetune = (model: Record<string, unknown> = {}): RunSpec =>
    RunSpecSchema.parse({ kind: 'finetune', name: 'f', dataset: { name: 'image-folder', datasetId, imageShape: [8, 8, 3] }, model: { type: 'classifier', ...model } });

  it('hands the thread a folder under the roots, with the roots and walk bounds', async () => {
    location = { kind: 'local', path: join(root, 'flowers') };
    const resolved = await resolver([root]).resolve(run, finetune());
    expect(resolved).toMatchObject({ ok: true, inputs: { imageFolder: location, paths: { localRoots: [root], walkMaxFiles: 1_000_000 } } });
  });

  it('fails a run whose dataset lies outside the roots (or through a link out of them), naming the field', async () => {
    for (const path of [outside, join(root, 'escape'), `${root}/../outside`]) {
      location = { kind: 'local', path };
      const resolved = await resolver([root]).resolve(run, finetune());
      expect(resolved).toEqual({ ok: false, reason: `dataset ${datasetId} location.path is not inside a folder this server may read (TRAINYARD_LOCAL_ROOTS)` });
    }
    location = { kind: 'local', path: join(root, 'flowers') };
    expect(await resolver([]).resolve(run, finetune())).toMatchObject({ ok: false, reason: expect.stringMatching(/location\.path .*TRAINYARD_LOCAL_ROOTS/) });
  });

  it('fails a run whose imported model is outside the roots or in another bucket, never quoting the file', async () => {
    location = { kind: 's3', prefix: 'sets/x/' };
    expect(await resolver([root]).resolve(run, finetune({ importedModel: { uri: pathToFileURL(join(root, 'model.json')).href } }))).toMatchObject({ ok: true });
    for (const uri of [pathToFileURL(join(outside, 'model.json')).href, join(root, 'escape', 'model.json'), 's3://elsewhere/model.json']) {
      const resolved = await resolver([root]).resolve(run, finetune({ importedModel: { uri } }));
      expect(resolved).toMatchObject({ ok: false, reason: expect.stringMatching(/^model\.importedModel\.uri /) });
      expect(JSON.stringify(resolved)).not.toMatch(/root:x|bin\/bash/);
    }
  });
});
