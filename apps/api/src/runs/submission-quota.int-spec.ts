import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Database } from '@trainyard/db';
import { DATABASE, OBJECT_STORE } from '@trainyard/infrastructure';
import { LocalObjectStore, packedManifestKey, type ObjectStore } from '@trainyard/storage';
import { startTestApi, type TestApi } from '../testing/test-api';

type Problem = { errors: { field: string; message: string }[] };

/** An 8×8 RGB PNG (95 bytes). */
const TINY_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAEUlEQVQImWM4ISeHFTEMLQkAkL9BAaxyLUcAAAAASUVORK5CYII=',
  'base64',
);

function writeFolder(path: string, perClass: number): void {
  for (const label of ['cat', 'dog']) {
    mkdirSync(join(path, label), { recursive: true });
    for (let i = 0; i < perClass; i++) writeFileSync(join(path, label, `${i}.png`), TINY_PNG);
  }
}
const post = (api: TestApi, route: string, body: unknown) =>
  api.fetch(`${api.baseUrl}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
async function register(api: TestApi, path: string): Promise<string> {
  const res = await post(api, '/v1/datasets', { name: `set ${randomUUID()}`, location: { kind: 'local', path } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}
async function refusal(res: Response): Promise<Problem['errors']> {
  expect(res.status).toBe(422);
  return ((await res.json()) as Problem).errors;
}
/**
 * The built-in encoder takes up to 256×256: a larger dataset shape is fine-tuned on a base (`base`,
 * e.g. an imported model), or refused at dataset.imageShape before any quota is counted.
 */
const finetune = (
  dataset: Record<string, unknown>,
  shape: number[],
  training: unknown = { epochs: 1 },
  base?: Record<string, unknown>,
) => ({
  kind: 'finetune',
  name: 'ft',
  dataset: { name: 'image-folder', imageShape: shape, ...dataset },
  model: { type: 'classifier', filters: [4], latentDim: 8, ...(base ?? { inputShape: shape }) },
  training,
});

/**
 * The image quota counts images, not their size: an image-folder run is refused at submit (422)
 * when the images it makes a worker decode into memory pass QUOTA_IN_MEMORY_DATASET_BYTES — a
 * folder loaded whole at its peak, or a streamed version's holdouts and sample —, by every route
 * that writes runs.
 */
describe('decoded images a run may hold in a worker (PostgreSQL, Redis, local store, HTTP)', () => {
  let api: TestApi;
  let root: string;
  const runCount = () => api.app.get<Database>(DATABASE).prisma.run.count();

  beforeAll(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-held-')));
    // The audit's upload: 20,000 tiny PNGs, 1.9 MB in all.
    writeFolder(join(root, 'tiny'), 10_000);
    writeFolder(join(root, 'few'), 8);
    // Only its place is checked at submit (under TRAINYARD_LOCAL_ROOTS): the training process reads it.
    writeFileSync(join(root, 'model.json'), '{}');
    api = await startTestApi({ env: { TRAINYARD_LOCAL_ROOTS: root } });
  });
  /** A base for images past the built-in encoder's 256 pixels a side. */
  const imported = () => ({ importedModel: { uri: pathToFileURL(join(root, 'model.json')).href } });
  afterAll(async () => {
    await api?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses 20,000 8×8 PNGs fine-tuned at 512×512×3 (141 GB while loading) by default, naming dataset.imageShape, and by a sweep', async () => {
    const tiny = await register(api, join(root, 'tiny'));
    const before = await runCount();
    const huge = finetune({ datasetId: tiny }, [512, 512, 3], undefined, imported());
    expect(await refusal(await post(api, '/v1/runs', huge))).toEqual([
      {
        field: 'dataset.imageShape',
        message: expect.stringMatching(
          /20,000 images at 512×512×3 .*up to 131\.8 GiB .*the limit is 4 GiB \(QUOTA_IN_MEMORY_DATASET_BYTES\)\. Stream a packed version of it \(dataset\.stream/,
        ),
      },
    ]);
    const sweep = { name: 'lr', base: huge, strategy: 'grid', parameters: { 'training.learningRate': [0.01, 0.1] } };
    expect((await refusal(await post(api, '/v1/sweeps', sweep)))[0]!.field).toBe('base.dataset.imageShape');
    expect(await runCount()).toBe(before);
    // The same images at 16×16×3: 138 MB.
    expect((await post(api, '/v1/runs', finetune({ datasetId: tiny }, [16, 16, 3]))).status).toBe(201);
  });

  it('refuses a pretrain and a fine-tune from scratch on 512×512×3 images with 400 at dataset.imageShape; on a base, only the quota holds', async () => {
    const tiny = await register(api, join(root, 'tiny'));
    const before = await runCount();
    const invalid = async (res: Response) => {
      expect(res.status).toBe(400);
      return ((await res.json()) as Problem).errors;
    };
    const images = "The built-in encoder takes 8–256 pixels a side; this dataset's images are 512×512×3: ";
    const scratch = finetune({ datasetId: tiny }, [512, 512, 3], undefined, {});
    expect(await invalid(await post(api, '/v1/runs', scratch))).toEqual([
      { field: 'dataset.imageShape', message: expect.stringContaining(`${images}use a base (model.baseRunId, `) },
    ]);
    const pretrain = { ...scratch, kind: 'pretrain', model: { type: 'conv-autoencoder', filters: [4], latentDim: 8 } };
    expect(await invalid(await post(api, '/v1/runs', pretrain))).toEqual([
      { field: 'dataset.imageShape', message: expect.stringContaining(`${images}bring the encoder`) },
    ]);
    const sweep = { name: 'lr', base: scratch, strategy: 'grid', parameters: { 'training.learningRate': [0.01, 0.1] } };
    expect((await invalid(await post(api, '/v1/sweeps', sweep))).map((e) => e.field)).toEqual([
      'base.dataset.imageShape',
    ]);
    expect(await runCount()).toBe(before);
    // On a base the spec is valid: what refuses it is the memory its 512×512×3 images would take.
    expect(
      (await post(api, '/v1/runs', finetune({ datasetId: tiny }, [512, 512, 3], undefined, imported()))).status,
    ).toBe(422);
    // 8 PNGs a class at 512×512×3 hold 113 MB: accepted.
    const few = await register(api, join(root, 'few'));
    expect(
      (await post(api, '/v1/runs', finetune({ datasetId: few }, [512, 512, 3], undefined, imported()))).status,
    ).toBe(201);
  });

  it('bounds what a streamed run holds too: its holdouts and sample, naming dataset.split', async () => {
    const tiny = await register(api, join(root, 'tiny'));
    const store = api.app.get<ObjectStore>(OBJECT_STORE);
    const images = 20_000;
    const manifest = Buffer.from(
      JSON.stringify({
        format: 'trainyard-packed-v1',
        source: new LocalObjectStore(join(root, 'tiny')).uri(''),
        classNames: ['cat', 'dog'],
        images,
        shards: [
          {
            sha256: 'f'.repeat(64),
            bytes: images * 95,
            entries: Array.from({ length: images }, (_, i) => ({ key: `${i}.png`, label: i % 2, bytes: 95 })),
          },
        ],
      }),
    );
    const version = createHash('sha256').update(manifest).digest('hex');
    await store.put(packedManifestKey(version), manifest);
    const before = await runCount();
    // 2,001 validation + 4,001 test + 256 sample images at 512×512×3 as float32 (and the largest copied): 32 GB.
    const streamed = (split: unknown) =>
      finetune({ datasetId: tiny, split, stream: { version } }, [512, 512, 3], { steps: 10, batchSize: 8 }, imported());
    expect(await refusal(await post(api, '/v1/runs', streamed({ validation: 0.1, test: 0.2 })))).toEqual([
      {
        field: 'dataset.split',
        message: expect.stringMatching(
          /up to 6,258 images at 512×512×3, 30\.1 GiB; the limit is 4 GiB.*Hold out smaller shares/,
        ),
      },
    ]);
    expect(await runCount()).toBe(before);
    // 1% each: 201 + 201 + 256 images, 2.7 GiB; the training images are streamed, never held.
    expect((await post(api, '/v1/runs', streamed({ validation: 0.01, test: 0.01 }))).status).toBe(201);
  });
});

describe('QUOTA_IN_MEMORY_DATASET_BYTES set (PostgreSQL, Redis, local store, HTTP)', () => {
  let api: TestApi;
  let root: string;
  beforeAll(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-held-')));
    writeFolder(join(root, 'pair'), 1);
    api = await startTestApi({ env: { TRAINYARD_LOCAL_ROOTS: root, QUOTA_IN_MEMORY_DATASET_BYTES: '200000' } });
  });
  afterAll(async () => {
    await api?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('holds every step of a pipeline to it: 2 images at 64×64×3 are 221,184 bytes while loading', async () => {
    const pair = await register(api, join(root, 'pair'));
    const pipeline = (shape: number[]) => ({
      name: 'held',
      pretrain: {
        name: 'ae',
        dataset: { name: 'image-folder', datasetId: pair, imageShape: shape },
        model: { type: 'conv-autoencoder', inputShape: shape, filters: [4], latentDim: 8 },
      },
      finetunes: [
        {
          name: 'ft',
          dataset: { name: 'image-folder', datasetId: pair, imageShape: shape },
          model: { type: 'classifier', inputShape: shape, filters: [4], latentDim: 8 },
        },
      ],
    });
    expect(await refusal(await post(api, '/v1/pipelines', pipeline([64, 64, 3])))).toEqual([
      {
        field: 'pretrain.dataset.imageShape',
        message: expect.stringContaining('up to 216 KiB (9 bytes per pixel while loading); the limit is 195.3 KiB'),
      },
    ]);
    expect(await refusal(await post(api, '/v1/runs', finetune({ datasetId: pair }, [64, 64, 3])))).toHaveLength(1);
    expect((await post(api, '/v1/pipelines', pipeline([32, 32, 3]))).status).toBe(201);
    expect((await post(api, '/v1/runs', finetune({ datasetId: pair }, [32, 32, 3]))).status).toBe(201);
  });
});

/**
 * A `training.steps` budget becomes epochs over the run's images: a million steps over ten images
 * are a million epochs, each validated and checkpointed. Past MAX_TRAINING_EPOCHS it is refused at
 * submit (422 naming the field where it sits), by every route that writes runs, before any row.
 */
describe('steps budgets that span too many epochs (PostgreSQL, Redis, local store, HTTP)', () => {
  let api: TestApi;
  let root: string;
  const runCount = () => api.app.get<Database>(DATABASE).prisma.run.count();

  beforeAll(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-steps-')));
    writeFolder(join(root, 'five'), 5);
    api = await startTestApi({ env: { TRAINYARD_LOCAL_ROOTS: root } });
  });
  afterAll(async () => {
    await api?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const pretrain = (training: unknown) => ({
    kind: 'pretrain',
    name: 'flood',
    dataset: { name: 'mnist', limit: 10 },
    model: { type: 'conv-autoencoder', filters: [1], latentDim: 2 },
    training,
  });

  it("refuses the audit's million steps over ten digits, naming training.steps, and writes nothing", async () => {
    const before = await runCount();
    expect(
      await refusal(await post(api, '/v1/runs', pretrain({ steps: 1_000_000, batchSize: 10, validationSplit: 0 }))),
    ).toEqual([
      {
        field: 'training.steps',
        message:
          '1,000,000 steps of batch size 10 over at most 10 images an epoch are at least 1,000,000 epochs; a run trains at most 1,000 (MAX_TRAINING_EPOCHS). Give fewer steps, a training.epochs budget, or more images',
      },
    ]);
    expect(await runCount()).toBe(before);
    // 1,000 epochs of one step: the limit itself.
    expect((await post(api, '/v1/runs', pretrain({ steps: 1000, batchSize: 10 }))).status).toBe(201);
  });

  it("counts an image folder's images, and names the step of a pipeline or the base of a sweep", async () => {
    const five = await register(api, join(root, 'five'));
    const folder = { name: 'image-folder', datasetId: five, imageShape: [8, 8, 3] };
    const model = { type: 'classifier', inputShape: [8, 8, 3], filters: [4], latentDim: 8 };
    // 10 images in batches of 16: one step an epoch, so 5,000 steps are 5,000 epochs.
    const ft = (steps: number) => ({ kind: 'finetune', name: 'ft', dataset: folder, model, training: { steps } });
    expect((await refusal(await post(api, '/v1/runs', ft(5000))))[0]!.field).toBe('training.steps');
    const pipeline = {
      name: 'p',
      pretrain: { name: 'ae', dataset: folder, model: { ...model, type: 'conv-autoencoder' } },
      finetunes: [
        { ...ft(100), kind: undefined },
        { ...ft(5000), kind: undefined },
      ],
    };
    expect((await refusal(await post(api, '/v1/pipelines', pipeline))).map((e) => e.field)).toEqual([
      'finetunes.1.training.steps',
    ]);
    const sweep = { name: 's', base: ft(5000), strategy: 'grid', parameters: { 'training.learningRate': [0.01, 0.1] } };
    expect((await refusal(await post(api, '/v1/sweeps', sweep))).map((e) => e.field)).toEqual(['base.training.steps']);
    // A swept budget is named as the parameter, with the values of the run it breaks.
    const swept = { ...sweep, base: ft(100), parameters: { 'training.steps': [100, 5000] } };
    expect(await refusal(await post(api, '/v1/sweeps', swept))).toEqual([
      { field: 'parameters.training.steps', message: expect.stringMatching(/^With training\.steps=5000: /) },
    ]);
    expect((await post(api, '/v1/runs', ft(1000))).status).toBe(201);
  });
});
