import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { RunSpecSchema } from '@trainyard/contracts';
import { LocalObjectStore, type ObjectStore, storeIOHandler } from '@trainyard/storage';
import { startS3TestServer, type S3TestServer } from '@trainyard/storage/testing';
import { loadImportedBase } from './base-model';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { runTrainingJob } from './run-training-job';
import type { TrainingJobInput } from './training-job.types';

// An imported model's weight files are read only inside its model.json's folder: over real S3
// (s3rver over HTTP) and real files, the hostile layouts an audit found, each one with weights that
// would load (so nothing but the confinement stops them).

const VICTIM_RUN = '6f1c2d3e-0000-4000-8000-000000000001';
const VICTIM_WEIGHTS = `runs/${VICTIM_RUN}/checkpoints/1/classifier/weights.bin`;

/** A tiny conv model as tensorflowjs_converter would hand one over: model.json + weights.bin under `prefix`. */
async function saveTinyModel(store: ObjectStore, prefix: string): Promise<void> {
  const model = tf.sequential({ name: 'tiny' });
  model.add(tf.layers.conv2d({ name: 'conv', inputShape: [16, 16, 1], filters: 2, kernelSize: 3, padding: 'same' }));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(tf.layers.dense({ name: 'predictions', units: 3, activation: 'softmax' }));
  await model.save(storeIOHandler(store, prefix));
  model.dispose();
}

/** The tiny model's model.json with its weight paths replaced by `paths`. */
async function modelJsonListing(store: ObjectStore, paths: string[]): Promise<Buffer> {
  const json = JSON.parse((await store.get('imported/tiny/model.json')).toString('utf8'));
  json.weightsManifest[0].paths = paths;
  return Buffer.from(JSON.stringify(json));
}

function finetune(uri: string) {
  return RunSpecSchema.parse({
    kind: 'finetune',
    name: 'imports a model',
    dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 4, testPerClass: 1 },
    model: { type: 'classifier', importedModel: { uri } },
    training: { epochs: 1, batchSize: 4, seed: 1 },
  });
}

async function outcomeOf(input: Omit<TrainingJobInput, 'backend' | 'firstCheckpointSequence'>) {
  return runTrainingJob(
    { ...input, backend: 'cpu', firstCheckpointSequence: 1 },
    () => undefined,
    () => false,
  );
}

async function refusal(uri: string, store: ObjectStore, roots: string[] = []): Promise<string> {
  const error = await loadImportedBase({ uri }, store, roots).then(
    () => null,
    (e: unknown) => e,
  );
  expect({ uri, error }).toEqual({ uri, error: expect.any(InvalidTrainingInputError) });
  return (error as Error).message;
}

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

describe('an imported model in S3 reads weights only inside its folder', () => {
  let s3: S3TestServer;
  let store: ObjectStore;

  beforeAll(async () => {
    s3 = await startS3TestServer({ bucket: `imported-${Date.now()}` });
    store = await s3.objectStore();
    await saveTinyModel(store, 'imported/tiny/');
    // Another project's fine-tuned weights, where every run's checkpoints are: the same bytes as the
    // tiny model's, so a load that reached them would succeed.
    await store.put(VICTIM_WEIGHTS, await store.get('imported/tiny/weights.bin'));
    await store.put(
      `runs/${VICTIM_RUN}/checkpoints/1/classifier/model.json`,
      await store.get('imported/tiny/model.json'),
    );
  }, 60_000);
  afterAll(() => s3.stop());

  it('loads and cuts a model of a folder of one’s own', async () => {
    const base = await loadImportedBase({ uri: store.uri('imported/tiny/model.json') }, store, []);
    expect(base.layers.map((l) => l.name)).toEqual(['conv_input', 'conv', 'flatten']);
  });

  it('refuses `runsmodel.json`, whose folder would be runs/, before reading a weight', async () => {
    await store.put(
      'runsmodel.json',
      await modelJsonListing(store, [`/${VICTIM_RUN}/checkpoints/1/classifier/weights.bin`]),
    );
    expect(await refusal(store.uri('runsmodel.json'), store)).toBe(
      'model.importedModel.uri does not name a file called model.json (expected …/model.json)',
    );
  });

  it('refuses a model.json at the bucket’s root listing another run’s weights, naming the file', async () => {
    await store.put('model.json', await modelJsonListing(store, [VICTIM_WEIGHTS]));
    const message = await refusal(store.uri('model.json'), store);
    expect(message).toMatch(
      new RegExp(
        `^model\\.importedModel\\.uri s3://[^ ]+/model\\.json: weight file "${VICTIM_WEIGHTS}" listed in its model\\.json is not read: .* runs/, where Trainyard keeps`,
      ),
    );
  });

  it('refuses weight paths that climb out of the folder, are absolute, or hide escapes or NUL', async () => {
    const paths = [
      `../../${VICTIM_WEIGHTS}`,
      `/${VICTIM_WEIGHTS}`,
      `..%2F..%2F${VICTIM_WEIGHTS}`,
      `%2e%2e/%2e%2e/${VICTIM_WEIGHTS}`,
      `..\\..\\${VICTIM_WEIGHTS}`,
      `weights.bin\0/../../../${VICTIM_WEIGHTS}`,
    ];
    for (const [i, path] of paths.entries()) {
      // A key per case: s3rver writes an object in place, and once served one just overwritten as truncated JSON.
      const key = `imported/evil-${i}/model.json`;
      await store.put(key, await modelJsonListing(store, [path]));
      const message = await refusal(store.uri(key), store);
      expect({ path, message }).toEqual({
        path,
        message: expect.stringMatching(/: weight file ".*" listed in its model\.json is not read: it /),
      });
    }
  });

  /** The worker's storage settings for the test's S3 server. */
  const s3Storage = () =>
    ({
      driver: 's3',
      endpoint: s3.endpoint,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      bucket: s3.bucket,
      region: 'us-east-1',
    }) as const;

  it('fails the run for good naming a weights.bin cut short or too long, with its size and the size its model.json needs', async () => {
    // Before, a cut-short file failed with tfjs's "the tensor should have 1536 values but has 1514",
    // naming neither the file nor a size, and one too long loaded whatever its extra bytes were.
    const weights = await store.get('imported/tiny/weights.bin');
    await store.put('imported/cut/model.json', await store.get('imported/tiny/model.json'));
    const uri = store.uri('imported/cut/model.json');
    for (const [name, bytes, reason] of [
      [
        'cut short',
        weights.subarray(0, weights.length - 100),
        `${uri} cannot be loaded as a LayersModel: its weight files (weights.bin) hold ${weights.length - 100} bytes where its weights manifest lists ${weights.length}`,
      ],
      // Refused by its listed size before it is read (IMPORTED_WEIGHTS_MAX_BYTES' per-file check).
      [
        'too long',
        Buffer.concat([weights, Buffer.alloc(8)]),
        `${uri}: weight file "weights.bin" listed in its model.json is ${weights.length + 8} bytes, more than the ${weights.length} its weights manifest leaves for it`,
      ],
    ] as const) {
      await store.put('imported/cut/weights.bin', bytes);
      const outcome = await outcomeOf({
        runId: `r-${name.replace(' ', '-')}`,
        spec: finetune(store.uri('imported/cut/model.json')),
        storage: s3Storage(),
      });
      expect({ name, outcome }).toEqual({
        name,
        outcome: {
          status: 'failed',
          retryable: false,
          reason: expect.stringContaining(reason),
        },
      });
    }
  });

  it('fails the run for good, with the refused file as its reason', async () => {
    const outcome = await outcomeOf({
      runId: 'r-s3',
      spec: finetune(store.uri('model.json')),
      storage: s3Storage(),
    });
    expect(outcome).toEqual({
      status: 'failed',
      retryable: false,
      reason: expect.stringContaining(`weight file "${VICTIM_WEIGHTS}" listed in its model.json is not read`),
    });
    // A runsmodel.json recorded before the contract refused it: the worker's own check of the spec fails it.
    const forged = { ...finetune(store.uri('imported/tiny/model.json')) } as ReturnType<typeof finetune>;
    if (forged.kind === 'finetune') forged.model.importedModel = { uri: store.uri('runsmodel.json') };
    const early = await outcomeOf({
      runId: 'r-s3-forged',
      spec: forged,
      storage: s3Storage(),
    });
    expect(early).toEqual({
      status: 'failed',
      retryable: false,
      reason: expect.stringMatching(/model\.importedModel\.uri.*model\.json/),
    });
  });
});

describe('a local imported model reads weights only inside its folder’s real path', () => {
  let base: string;
  let root: string;
  let objects: LocalObjectStore;

  beforeAll(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'trainyard-imported-files-')));
    root = join(base, 'root');
    // The demo's layout: the object store inside a folder TRAINYARD_LOCAL_ROOTS names.
    objects = new LocalObjectStore(join(root, 'objects'));
    await saveTinyModel(objects, 'imported/tiny/');
    await objects.put(VICTIM_WEIGHTS, await objects.get('imported/tiny/weights.bin'));
    // A file outside the roots that happens to hold loadable weights.
    await writeFile(join(base, 'secret.bin'), await objects.get('imported/tiny/weights.bin'));
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  async function modelFolder(name: string, weights: string): Promise<string> {
    const dir = join(root, 'models', name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'model.json'), await objects.get('imported/tiny/model.json'));
    await symlink(weights, join(dir, 'weights.bin'));
    return join(dir, 'model.json');
  }

  it('refuses weights.bin linked to a file outside the roots, to /etc/shadow, or to another run’s weights', async () => {
    for (const [name, target] of [
      ['outside', join(base, 'secret.bin')],
      ['shadow', '/etc/shadow'],
      ['victim', join(root, 'objects', VICTIM_WEIGHTS)],
    ]) {
      const uri = pathToFileURL(await modelFolder(name, target)).href;
      const message = await refusal(uri, objects, [root]);
      expect({ name, message }).toEqual({
        name,
        message: `model.importedModel.uri ${uri}: weight file "weights.bin" listed in its model.json is not a file inside the model's folder (a link out of it is not followed)`,
      });
    }
  });

  it('loads a model whose weights.bin links to a file inside its own folder', async () => {
    const dir = join(root, 'models', 'inside');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'model.json'), await objects.get('imported/tiny/model.json'));
    await writeFile(join(dir, 'weights-v1.bin'), await readFile(join(base, 'secret.bin')));
    await symlink('weights-v1.bin', join(dir, 'weights.bin'));
    const model = await loadImportedBase({ uri: join(dir, 'model.json') }, objects, [root]);
    expect(model.layers.map((l) => l.name)).toContain('conv');
  });

  it('fails the run for good at the worker, naming the file', async () => {
    const uri = join(root, 'models', 'victim', 'model.json');
    const outcome = await outcomeOf({
      runId: 'r-local',
      spec: finetune(uri),
      storage: { driver: 'local', root: join(root, 'objects') },
      paths: { localRoots: [root], walkMaxFiles: 1000, walkMaxMs: 10_000 },
    });
    expect(outcome).toEqual({
      status: 'failed',
      retryable: false,
      reason: `run r-local: model.importedModel.uri ${uri}: weight file "weights.bin" listed in its model.json is not a file inside the model's folder (a link out of it is not followed)`,
    });
  });
});
