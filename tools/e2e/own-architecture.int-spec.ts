import { Cluster } from './cluster';

/** A layer as `model.toJSON(null, false)` writes it (the keys that matter; tfjs fills the rest). */
const L = (class_name: string, config: Record<string, unknown>) => ({ class_name, config });
const sequential = (...layers: object[]) => ({ class_name: 'Sequential', config: { name: 'own', layers } });

const shapes = { name: 'synthetic-shapes' as const, imageSize: 16, perClass: 24, testPerClass: 5 };
/** 16×16×1 → 8×8×4: 40 parameters. */
const encoder = () =>
  sequential(
    L('Conv2D', {
      name: 'e_conv',
      filters: 4,
      kernel_size: [3, 3],
      padding: 'same',
      activation: 'relu',
      batch_input_shape: [null, 16, 16, 1],
    }),
    L('MaxPooling2D', { name: 'e_pool', pool_size: [2, 2] }),
  );
/** 8×8×4 → 16×16×1 in [0, 1]: 37 parameters. */
const decoder = () =>
  sequential(
    L('UpSampling2D', { name: 'd_up', size: [2, 2] }),
    L('Conv2D', { name: 'd_out', filters: 1, kernel_size: [3, 3], padding: 'same', activation: 'sigmoid' }),
  );
/** Fed the base's features, whatever their shape: flatten → softmax over the 4 shapes. */
const head = (units = 4) =>
  sequential(L('Flatten', { name: 'h_flat' }), L('Dense', { name: 'h_out', units, activation: 'softmax' }));
const training = { steps: 12, batchSize: 16, seed: 5 };

/**
 * A spec's own architecture end to end (issue #14 item 4): submitted over the real API, which
 * validates the topology JSON without TensorFlow.js, trained by a worker's training process,
 * which builds it with tfjs; and the refusals a client sees, each a 400 naming the field.
 */
describe('own architectures (real API and worker processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start({
      WORKER_CONCURRENCY: '2',
      WORKER_MAX_ATTEMPTS: '1',
      QUOTA_MODEL_PARAMETERS: '10000',
    });
    await cluster.startWorker();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const refusal = async (body: string | object) => {
    const response = await cluster.fetch(`${cluster.baseUrl}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const problem = (await response.json()) as { errors?: { field: string; message: string }[] };
    return { status: response.status, errors: problem.errors ?? [] };
  };

  it('pretrains an autoencoder of its own layers, then fine-tunes its encoder with a head of its own', async () => {
    const pretrainId = await cluster.submit({
      kind: 'pretrain',
      name: 'own autoencoder',
      dataset: shapes,
      model: { type: 'layers-autoencoder', encoder: encoder(), decoder: decoder(), loss: 'binaryCrossentropy' },
      training,
    });
    const scratchId = await cluster.submit({
      kind: 'finetune',
      name: 'own base and head',
      dataset: shapes,
      model: { type: 'classifier', layers: { base: encoder(), head: head() } },
      training,
    });
    const pretrain = await cluster.waitForStatus(pretrainId, ['SUCCEEDED', 'FAILED']);
    expect(pretrain.failureReason).toBeNull();
    expect(pretrain.status).toBe('SUCCEEDED');
    expect((pretrain.result as { mse: number }).mse).toBeGreaterThan(0);
    // The stored spec holds the topology as submitted, normalised to the Sequential topology alone.
    expect((pretrain['spec'] as { model: { encoder: unknown } }).model.encoder).toEqual(encoder());
    const bestOfPretrain = (pretrain.result as { selection: { best: { sequence: number } } }).selection.best.sequence;
    expect(bestOfPretrain).toEqual(expect.any(Number));

    const finetuneId = await cluster.submit({
      kind: 'finetune',
      name: 'own head on own encoder',
      dataset: shapes,
      model: { type: 'classifier', baseRunId: pretrainId, layers: { head: head() } },
      training,
    });
    for (const [id, base] of [
      [finetuneId, 'run'],
      [scratchId, 'scratch'],
    ] as const) {
      const run = await cluster.waitForStatus(id, ['SUCCEEDED', 'FAILED']);
      expect(run.failureReason).toBeNull();
      expect(run.status).toBe('SUCCEEDED');
      const result = run.result as { accuracy: number; transfer: Record<string, unknown> };
      expect(result.accuracy).toBeGreaterThanOrEqual(0);
      expect(result.accuracy).toBeLessThanOrEqual(1);
      // The base is the encoder whole (8×8×4 maps), the head the spec's own.
      expect(result.transfer).toEqual({
        base,
        cutAt: null,
        cutLayer: 'e_pool',
        features: [8, 8, 4],
        headNorm: 'none',
        layers: { base: base === 'scratch', head: true },
        // The encoder was read from the pretrain's best checkpoint, and the run says so.
        ...(base === 'run' ? { checkpoint: { runId: pretrainId, sequence: bestOfPretrain, best: true } } : {}),
      });
    }
  }, 240_000);

  it('answers 400 naming the field for topologies that do not fit or are hostile, writing nothing', async () => {
    const finetune = (layers: object) => ({
      kind: 'finetune',
      name: 'refused',
      dataset: shapes,
      model: { type: 'classifier', layers },
      training,
    });
    const base = (config: Record<string, unknown>) =>
      finetune({
        base: sequential(L('Dense', { name: 'b', units: 4, batch_input_shape: [null, 16, 16, 1], ...config })),
      });
    const cases: [string | object, string, RegExp][] = [
      [
        finetune({ base: sequential({ class_name: 'Lambda', config: { name: 'x' } }) }),
        'model.layers.base.config.layers.0.class_name',
        /unsupported layer class/,
      ],
      // JSON has no NaN: a NaN size arrives as null.
      [base({ units: Number.NaN }), 'model.layers.base.config.layers.0.config.units', /number/],
      [base({ units: -4 }), 'model.layers.base.config.layers.0.config.units', />=1/],
      [
        base({ batch_input_shape: [null, 16, -16, 1] }),
        'model.layers.base.config.layers.0.config.batch_input_shape.2',
        />=1/,
      ],
      [base({ name: 'b\u0007' }), 'model.layers.base.config.layers.0.config.name', /Control character U\+0007/],
      [
        JSON.stringify(base({})).replace('"units":4', '"units":4,"__proto__":{"admin":true}'),
        'model.layers.base.config.layers.0.config.__proto__',
        /not allowed as a key/,
      ],
      [
        finetune({
          base: sequential(...Array.from({ length: 10_000 }, (_, i) => L('Dropout', { name: `d${i}`, rate: 0 }))),
        }),
        'model.layers.base.config.layers',
        /More than 10000 values/,
      ],
      [
        // Within the contracts' bounds (65,536 units) but not the project's quota (10,000 here).
        finetune({
          base: encoder(),
          head: sequential(
            L('Flatten', { name: 'f' }),
            L('Dense', { name: 'big', units: 64 }),
            L('Dense', { name: 'o', units: 4, activation: 'softmax' }),
          ),
        }),
        'model.layers.head.config.layers.1',
        /quota is 10,000 \(QUOTA_MODEL_PARAMETERS\). Its largest layer, Dense 'big', holds 16,448/,
      ],
      [finetune({ base: encoder(), head: head(10) }), 'model.layers.head.config.layers.1', /must be \[4\]/],
      [
        {
          kind: 'pretrain',
          name: 'refused',
          dataset: shapes,
          model: {
            type: 'layers-autoencoder',
            encoder: encoder(),
            decoder: sequential(L('UpSampling2D', { name: 'u', size: [2, 2] })),
          },
        },
        'model.decoder.config.layers.0',
        /must reconstruct the encoder's input \[16, 16, 1\]/,
      ],
    ];
    const before = Number((await cluster.pg.query('SELECT count(*) FROM runs')).rows[0].count);
    for (const [body, field, message] of cases) {
      const answer = await refusal(body);
      expect({ field, status: answer.status }).toEqual({ field, status: 400 });
      const error = answer.errors.find((e) => e.field === field);
      expect({ field, errors: answer.errors, found: !!error }).toEqual({ field, errors: answer.errors, found: true });
      expect(error!.message).toMatch(message);
    }
    expect(Number((await cluster.pg.query('SELECT count(*) FROM runs')).rows[0].count)).toBe(before);
  }, 60_000);
});
