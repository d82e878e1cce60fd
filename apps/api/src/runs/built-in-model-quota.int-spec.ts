import type { Database } from '@trainyard/db';
import { DATABASE } from '@trainyard/infrastructure';
import { startTestApi, type TestApi } from '../testing/test-api';

type Problem = { errors: { field: string; message: string }[] };

const shapes64 = { name: 'synthetic-shapes', imageSize: 64, channels: 3, perClass: 4 };
/** 33,660,675 parameters, 16,842,752 of them in 'dec_dense' (latentDim × the 32×32×64 maps it rebuilds). */
const largeAutoencoder = { type: 'conv-autoencoder', inputShape: [64, 64, 3], filters: [64], latentDim: 256 };
/** 54,806,090 parameters: a fresh encoder (3,213,888) and a head of 1,024 hidden units on its 14×14×256 maps. */
const largeClassifier = { type: 'classifier', filters: [256], headUnits: 1024 };
const tiny = { inputShape: [16, 16, 1], filters: [4], latentDim: 8 };
const tinyShapes = { name: 'synthetic-shapes', imageSize: 16, perClass: 4 };

/**
 * The built-in models count against QUOTA_MODEL_PARAMETERS (10,000,000 by default) as a spec's
 * own topologies do, by every route that writes runs, the refusal naming the field that sizes the
 * largest layer; and the contracts' own bounds refuse the audit's requests at the schema. Before,
 * only own topologies were counted: a 17-billion-parameter head went to a worker.
 */
describe('built-in models against the parameter quota (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  const runCount = () => api.app.get<Database>(DATABASE).prisma.run.count();
  const post = (route: string, body: unknown) =>
    api.fetch(`${api.baseUrl}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  async function refusal(res: Response): Promise<Problem['errors']> {
    expect(res.status).toBe(400);
    return ((await res.json()) as Problem).errors;
  }

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.stop());

  it("refuses the audit's two requests at the schema, naming the fields", async () => {
    const before = await runCount();
    const finetune = {
      kind: 'finetune',
      name: 'x',
      dataset: { name: 'mnist', limit: 10 },
      model: { type: 'classifier', inputShape: [256, 256, 3], filters: [256], headUnits: 4096 },
      training: { epochs: 1 },
    };
    expect(await refusal(await post('/v1/runs', finetune))).toEqual([
      { field: 'model.inputShape', message: "The encoder takes images of 256×256×3 but the dataset's are 28×28×1" },
      { field: 'model.filters', message: expect.stringMatching(/'enc_conv1': Outputs \[256, 256, 256\]/) },
    ]);
    const pretrain = {
      kind: 'pretrain',
      name: 'x',
      dataset: shapes64,
      model: { type: 'conv-autoencoder', inputShape: [64, 64, 3], filters: [256], latentDim: 1024 },
    };
    expect(await refusal(await post('/v1/runs', pretrain))).toEqual([
      { field: 'model.latentDim', message: expect.stringMatching(/no model may hold more than 100,000,000/) },
    ]);
    expect(await runCount()).toBe(before);
  });

  it('refuses built-in models past the quota by /v1/runs, /v1/sweeps and /v1/pipelines, and takes small ones', async () => {
    const before = await runCount();
    const pretrain = { kind: 'pretrain', name: 'ae', dataset: shapes64, model: largeAutoencoder };
    expect(await refusal(await post('/v1/runs', pretrain))).toEqual([
      {
        field: 'model.latentDim',
        message:
          "The model holds 33,660,675 parameters (built-in autoencoder 33,660,675); the project's quota is 10,000,000 (QUOTA_MODEL_PARAMETERS). Its largest layer, Dense 'dec_dense', holds 16,842,752",
      },
    ]);
    const finetune = { kind: 'finetune', name: 'ft', dataset: { name: 'mnist' }, model: largeClassifier };
    expect(await refusal(await post('/v1/runs', finetune))).toEqual([
      {
        field: 'model.headUnits',
        message: expect.stringMatching(
          /^The model holds 54,806,090 parameters \(built-in encoder 3,213,888, built-in head 51,592,202\);.*Dense 'head_hidden', holds 51,381,248$/,
        ),
      },
    ]);
    const sweep = { name: 's', base: finetune, strategy: 'grid', parameters: { 'training.learningRate': [0.01, 0.1] } };
    expect((await refusal(await post('/v1/sweeps', sweep))).map((e) => e.field)).toEqual(['base.model.headUnits']);
    // A small base whose sweep makes a run too large: model.headUnits is a sweep parameter.
    const swept = {
      name: 'wide heads',
      base: { ...finetune, model: { ...largeClassifier, headUnits: 16 } },
      strategy: 'grid',
      parameters: { 'model.headUnits': [16, 1024] },
    };
    // Named as the parameter whose value breaks it, with the run's values: the base holds 16.
    expect(await refusal(await post('/v1/sweeps', swept))).toEqual([
      {
        field: 'parameters.model.headUnits',
        message: expect.stringMatching(/^With model\.headUnits=1024: The model holds 54,806,090 parameters/),
      },
    ]);
    const { kind: _kind, ...ae } = pretrain;
    const pipeline = {
      name: 'p',
      pretrain: ae,
      finetunes: [
        { name: 'ft', dataset: shapes64, model: { type: 'classifier', inputShape: [64, 64, 3], filters: [4] } },
      ],
    };
    expect((await refusal(await post('/v1/pipelines', pipeline))).map((e) => e.field)).toEqual([
      'pretrain.model.latentDim',
    ]);
    expect(await runCount()).toBe(before);

    const small = [
      { kind: 'pretrain', name: 'ae', dataset: tinyShapes, model: { type: 'conv-autoencoder', ...tiny } },
      { kind: 'finetune', name: 'ft', dataset: tinyShapes, model: { type: 'classifier', ...tiny, headUnits: 64 } },
    ];
    for (const spec of small) expect((await post('/v1/runs', spec)).status).toBe(201);
  });
});
