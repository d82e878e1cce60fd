import { inferTopology, LayersTopologySchema, MAX_MODEL_PARAMETERS, type LayersTopology } from './layers-topology';
import { parseRunSpec, specTopologies } from './run-spec.schema';
import { topologySizes } from './layers-model';

/** A layer as `model.toJSON(null, false)` writes it (only the keys that matter here). */
const L = (class_name: string, config: Record<string, unknown>) => ({ class_name, config });
const seq = (...layers: object[]) => ({ class_name: 'Sequential', config: { name: 'm', layers } });
const topology = (t: unknown): LayersTopology => LayersTopologySchema.parse(t);

const encoder = () =>
  seq(
    L('Conv2D', {
      name: 'c1',
      filters: 8,
      kernel_size: [3, 3],
      padding: 'same',
      activation: 'relu',
      batch_input_shape: [null, 28, 28, 1],
    }),
    L('MaxPooling2D', { name: 'p1', pool_size: [2, 2] }),
    L('Conv2D', { name: 'c2', filters: 16, kernel_size: [3, 3], padding: 'same', activation: 'relu' }),
    L('MaxPooling2D', { name: 'p2', pool_size: [2, 2] }),
  );
const decoder = (last: Record<string, unknown> = {}) =>
  seq(
    L('Conv2DTranspose', { name: 'd1', filters: 8, kernel_size: 3, strides: 2, padding: 'same', activation: 'relu' }),
    L('UpSampling2D', { name: 'u1', size: [2, 2] }),
    L('Conv2D', { name: 'out', filters: 1, kernel_size: 3, padding: 'same', activation: 'sigmoid', ...last }),
  );
const pretrain = (model: Record<string, unknown>) =>
  parseRunSpec({
    kind: 'pretrain',
    name: 'own',
    dataset: { name: 'mnist' },
    model: { type: 'layers-autoencoder', encoder: encoder(), decoder: decoder(), ...model },
  });
const finetune = (model: Record<string, unknown>, dataset: object = { name: 'mnist' }) =>
  parseRunSpec({ kind: 'finetune', name: 'own', dataset, model: { type: 'classifier', ...model } });
const errorsOf = (result: ReturnType<typeof parseRunSpec>) => (result.ok ? [] : result.errors);

describe('inferTopology', () => {
  it('infers every layer shape and counts parameters as Keras does', () => {
    const result = inferTopology(
      topology(
        seq(
          L('InputLayer', { name: 'in', batch_input_shape: [null, 28, 28, 1] }),
          L('Conv2D', { name: 'c', filters: 4, kernel_size: [3, 3], strides: [2, 2], padding: 'valid' }),
          L('BatchNormalization', { name: 'bn' }),
          L('AveragePooling2D', { name: 'a', pool_size: [2, 2], strides: [1, 1], padding: 'same' }),
          L('ZeroPadding2D', {
            name: 'z',
            padding: [
              [1, 1],
              [0, 2],
            ],
          }),
          L('Cropping2D', { name: 'cr', cropping: 1 }),
          L('GlobalAveragePooling2D', { name: 'g' }),
          L('Reshape', { name: 'r', target_shape: [2, -1] }),
          L('Dense', { name: 'd', units: 5, use_bias: false }),
          L('Flatten', { name: 'f' }),
          L('Dropout', { name: 'dr', rate: 0.5 }),
          L('Dense', { name: 'o', units: 3, activation: 'softmax' }),
        ),
      ),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const shapes = result.inferred.layers.map((l) => [l.name, l.outputShape, l.parameters]);
    expect(shapes).toEqual([
      ['in', [28, 28, 1], 0],
      ['c', [13, 13, 4], 3 * 3 * 1 * 4 + 4],
      ['bn', [13, 13, 4], 16],
      ['a', [13, 13, 4], 0],
      ['z', [15, 15, 4], 0],
      ['cr', [13, 13, 4], 0],
      ['g', [4], 0],
      ['r', [2, 2], 0],
      ['d', [2, 5], 10],
      ['f', [10], 0],
      ['dr', [10], 0],
      ['o', [3], 33],
    ]);
    expect(result.inferred.parameters).toBe(40 + 16 + 10 + 33);
    expect(result.inferred.inputShape).toEqual([28, 28, 1]);
    expect(result.inferred.outputActivation).toBe('softmax');
  });

  it("sizes transposed convolutions and 'valid' pooling like tfjs", () => {
    const result = inferTopology(
      topology(
        seq(
          L('Conv2DTranspose', {
            name: 't',
            filters: 2,
            kernel_size: 5,
            strides: 2,
            batch_input_shape: [null, 7, 7, 3],
          }),
          L('MaxPooling2D', { name: 'p', pool_size: 3, strides: 2 }),
        ),
      ),
    );
    // valid transpose: 7·2 + max(5 − 2, 0) = 17; valid pool: floor((17 − 3) / 2) + 1 = 8.
    expect(result.ok && result.inferred.layers.map((l) => l.outputShape)).toEqual([
      [17, 17, 2],
      [8, 8, 2],
    ]);
    expect(result.ok && result.inferred.parameters).toBe(5 * 5 * 2 * 3 + 2);
  });

  it('feeds a head the shape it is given and refuses a declared shape that differs', () => {
    const head = topology(seq(L('Flatten', { name: 'f' }), L('Dense', { name: 'o', units: 10 })));
    const fed = inferTopology(head, [7, 7, 16]);
    expect(fed.ok && fed.inferred.outputShape).toEqual([10]);
    const declared = topology(seq(L('Dense', { name: 'o', units: 10, batch_input_shape: [null, 64] })));
    const refused = inferTopology(declared, [7, 7, 16]);
    expect(refused).toEqual({
      ok: false,
      problem: {
        path: ['config', 'layers', 0, 'config', 'batch_input_shape'],
        message: "Dense 'o': Declares input [64] but receives [7, 7, 16]",
      },
    });
  });

  it('names the layer whose shape does not fit', () => {
    const cases: [object, (string | number)[], RegExp][] = [
      [
        seq(L('Conv2D', { name: 'c', filters: 1, kernel_size: 9, batch_input_shape: [null, 4, 4, 1] })),
        ['config', 'layers', 0, 'config', 'kernel_size'],
        /does not fit a 4×4 input/,
      ],
      [
        seq(
          L('Dense', { name: 'd', units: 4, batch_input_shape: [null, 6] }),
          L('Reshape', { name: 'r', target_shape: [3, 3] }),
        ),
        ['config', 'layers', 1, 'config', 'target_shape'],
        /Cannot reshape \[4\]/,
      ],
      [
        seq(L('Dense', { name: 'd', units: 4, batch_input_shape: [null, 6] }), L('MaxPooling2D', { name: 'p' })),
        ['config', 'layers', 1],
        /Expects a 3-D input/,
      ],
      [
        seq(L('Dense', { name: 'd', units: 4, batch_input_shape: [null, 6] }), L('Dense', { name: 'd', units: 2 })),
        ['config', 'layers', 1, 'config', 'name'],
        /Another layer/,
      ],
      [
        seq(L('Dense', { name: 'd', units: 4 })),
        ['config', 'layers', 0, 'config', 'batch_input_shape'],
        /must declare/,
      ],
      [
        seq(L('Dense', { name: 'd', units: 4, batch_input_shape: [null, 6] }), L('InputLayer', { name: 'i' })),
        ['config', 'layers', 1],
        /only be the first/,
      ],
    ];
    for (const [t, path, message] of cases) {
      const result = inferTopology(topology(t));
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      expect(result.problem.path).toEqual(path);
      expect(result.problem.message).toMatch(message);
    }
  });

  it('refuses activations that would exhaust memory even without parameters', () => {
    const result = inferTopology(
      topology(
        seq(
          L('UpSampling2D', { name: 'u1', size: [16, 16], batch_input_shape: [null, 256, 256, 3] }),
          L('UpSampling2D', { name: 'u2', size: [16, 16] }),
        ),
      ),
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem.path).toEqual(['config', 'layers', 0]);
    expect(!result.ok && result.problem.message).toMatch(/values per image/);
  });

  it('stops counting at the hard parameter ceiling, naming the layer that passes it', () => {
    const dense = (i: number) => L('Dense', { name: `d${i}`, units: 65_536 });
    const result = inferTopology(
      topology(seq(L('Dense', { name: 'in', units: 4096, batch_input_shape: [null, 64] }), dense(1), dense(2))),
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem.path).toEqual(['config', 'layers', 1]);
    expect(!result.ok && result.problem.message).toMatch(MAX_MODEL_PARAMETERS.toLocaleString('en'));
  });
});

describe('LayersTopologySchema', () => {
  it('takes a model.json and stores its Sequential topology alone', () => {
    const parsed = LayersTopologySchema.parse({
      format: 'layers-model',
      generatedBy: 'TensorFlow.js tfjs-layers v4.22.0',
      convertedBy: null,
      modelTopology: { ...encoder(), keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
      weightsManifest: [{ paths: ['weights.bin'], weights: [] }],
    });
    expect(parsed).toEqual({ class_name: 'Sequential', config: encoder().config });
  });

  it('says how to send what model.toJSON() returns, a string', () => {
    const parsed = LayersTopologySchema.safeParse(JSON.stringify(encoder()));
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.message).toMatch(/not a string: model.toJSON\(\) returns a string/);
  });

  it("takes a Keras (Python) model.json's topology as tensorflowjs_converter writes it", () => {
    const keras = {
      format: 'layers-model',
      generatedBy: 'keras v2.15.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: {
        keras_version: '2.15.0',
        backend: 'tensorflow',
        class_name: 'Sequential',
        config: {
          name: 'sequential',
          layers: [
            L('InputLayer', {
              batch_input_shape: [null, 28, 28, 1],
              dtype: 'float32',
              sparse: false,
              ragged: false,
              name: 'input_1',
            }),
            L('Conv2D', {
              name: 'conv2d',
              trainable: true,
              dtype: 'float32',
              filters: 8,
              kernel_size: [3, 3],
              strides: [1, 1],
              padding: 'valid',
              data_format: 'channels_last',
              dilation_rate: [1, 1],
              groups: 1,
              activation: 'relu',
              use_bias: true,
              kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
              bias_initializer: { class_name: 'Zeros', config: {} },
              kernel_regularizer: null,
              bias_regularizer: null,
              activity_regularizer: null,
              kernel_constraint: null,
              bias_constraint: null,
            }),
          ],
        },
      },
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [] }],
    };
    const inferred = inferTopology(topology(keras));
    expect(inferred.ok && inferred.inferred.outputShape).toEqual([26, 26, 8]);
    // A grouped convolution is not something tfjs builds.
    const grouped = structuredClone(keras);
    (grouped.modelTopology.config.layers[1]!.config as Record<string, unknown>)['groups'] = 2;
    expect(LayersTopologySchema.safeParse(grouped).success).toBe(false);
  });
});

describe('a spec that brings its own layers', () => {
  it('accepts an encoder and decoder that line up, and a classifier base and head', () => {
    expect(errorsOf(pretrain({ loss: 'binaryCrossentropy' }))).toEqual([]);
    const ok = finetune({
      layers: {
        base: encoder(),
        head: seq(L('Flatten', { name: 'f' }), L('Dense', { name: 'o', units: 10, activation: 'softmax' })),
      },
    });
    expect(errorsOf(ok)).toEqual([]);
  });

  it('refuses, naming the field, what does not line up or fit the loss', () => {
    expect(errorsOf(pretrain({ decoder: decoder({ filters: 3 }) }))).toEqual([
      {
        field: 'model.decoder.config.layers.2',
        message: "The decoder outputs [28, 28, 3] but must reconstruct the encoder's input [28, 28, 1]",
      },
    ]);
    expect(errorsOf(pretrain({ loss: 'binaryCrossentropy', decoder: decoder({ activation: 'relu' }) }))).toEqual([
      {
        field: 'model.decoder.config.layers.2',
        message:
          "Binary cross-entropy needs outputs in [0, 1]: end the decoder in a sigmoid (it ends in 'relu'), or use loss 'mse'",
      },
    ]);
    // The encoder's input is the dataset's images.
    expect(
      errorsOf(
        parseRunSpec({
          kind: 'pretrain',
          name: 'own',
          dataset: { name: 'synthetic-shapes', imageSize: 16 },
          model: { type: 'layers-autoencoder', encoder: encoder(), decoder: decoder() },
        }),
      ),
    ).toEqual([
      {
        field: 'model.encoder.config.layers.0',
        message: "Takes input [28, 28, 1] but the dataset's images are [16, 16, 1]",
      },
    ]);
    const head = (units: number, activation: string) =>
      seq(L('Flatten', { name: 'f' }), L('Dense', { name: 'o', units, activation }));
    expect(errorsOf(finetune({ layers: { head: head(4, 'softmax') } }))).toEqual([
      {
        field: 'model.layers.head.config.layers.1',
        message: "The head outputs [4]; a classifier's must be [10], one probability per class",
      },
    ]);
    expect(errorsOf(finetune({ layers: { head: head(10, 'sigmoid') } }))).toEqual([
      {
        field: 'model.layers.head.config.layers.1',
        message: "The head must end in a softmax for categorical cross-entropy (it ends in 'sigmoid')",
      },
    ]);
    // The built-in encoder's features at cutAt 'latent' are [64]: a head declaring [10] does not take them.
    expect(
      errorsOf(
        finetune({
          cutAt: 'latent',
          layers: {
            head: seq(L('Dense', { name: 'o', units: 10, activation: 'softmax', batch_input_shape: [null, 10] })),
          },
        }),
      ),
    ).toEqual([
      {
        field: 'model.layers.head.config.layers.0.config.batch_input_shape',
        message: "Dense 'o': Declares input [10] but receives [64]",
      },
    ]);
    expect(
      errorsOf(finetune({ baseRunId: '6b0f3a9e-8a4c-4a57-9d0e-3c2d8e3c1a11', layers: { base: encoder() } })),
    ).toEqual([
      { field: 'model.layers.base', message: 'A classifier has one base: layers.base and baseRunId were both given' },
    ]);
  });

  it('refuses hostile topologies field by field', () => {
    const dense = (config: Record<string, unknown>) =>
      finetune({
        layers: { base: seq(L('Dense', { name: 'd', units: 4, batch_input_shape: [null, 28, 28, 1], ...config })) },
      });
    const cases: [ReturnType<typeof parseRunSpec>, string, RegExp][] = [
      [dense({ units: 1e9 }), 'model.layers.base.config.layers.0.config.units', /<=65536/],
      [dense({ units: Number.NaN }), 'model.layers.base.config.layers.0.config.units', /expected number|Invalid/],
      [dense({ units: -3 }), 'model.layers.base.config.layers.0.config.units', />=1/],
      [dense({ units: 2.5 }), 'model.layers.base.config.layers.0.config.units', /int/],
      [dense({ name: 'd\u001b[2J' }), 'model.layers.base.config.layers.0.config.name', /Control character/],
      [dense({ name: 'predictions' }), 'model.layers.base.config.layers.0.config.name', /reserved/],
      [
        dense({ kernel_constraint: { class_name: 'MaxNorm', config: {} } }),
        'model.layers.base.config.layers.0.config.kernel_constraint',
        /not supported/,
      ],
      [dense({ evil: 1 }), 'model.layers.base.config.layers.0.config.evil', /Unknown field/],
      [
        dense({ batch_input_shape: [null, -28, 28, 1] }),
        'model.layers.base.config.layers.0.config.batch_input_shape.1',
        />=1/,
      ],
      [
        finetune({
          layers: { base: seq({ class_name: 'Lambda', config: { name: 'x', function: 'process.exit()' } }) },
        }),
        'model.layers.base.config.layers.0.class_name',
        /Unknown or unsupported layer class; supported: InputLayer, Conv2D/,
      ],
      [
        finetune({ layers: { base: { class_name: 'Model', config: { name: 'm', layers: [] } } } }),
        'model.layers.base.class_name',
        /Sequential/,
      ],
      [
        finetune({
          layers: {
            base: seq(
              L('Dense', { name: 'd0', units: 4, batch_input_shape: [null, 28, 28, 1] }),
              ...Array.from({ length: 200 }, (_, i) => L('Dropout', { name: `d${i + 1}`, rate: 0 })),
            ),
          },
        }),
        'model.layers.base.config.layers',
        /<=100/,
      ],
    ];
    for (const [result, field, message] of cases) {
      const errors = errorsOf(result);
      expect(errors.map((e) => e.field)).toContain(field);
      expect(errors.find((e) => e.field === field)!.message).toMatch(message);
    }
  });

  it('refuses prototype keys in a topology as unknown fields, never assigning them', () => {
    const config = JSON.parse(
      '{"name":"d","units":4,"batch_input_shape":[null,28,28,1],"__proto__":{"polluted":true}}',
    );
    const result = finetune({ layers: { base: seq(L('Dense', config)) } });
    expect(errorsOf(result)).toEqual([
      { field: 'model.layers.base.config.layers.0.config.__proto__', message: 'Unknown field' },
    ]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it("gives each topology's size and largest layer for the project's quota", () => {
    const result = pretrain({});
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const { sizes, parameters } = topologySizes(specTopologies(result.spec));
    const encoderParams = 3 * 3 * 1 * 8 + 8 + (3 * 3 * 8 * 16 + 16);
    const decoderParams = 3 * 3 * 8 * 16 + 8 + (3 * 3 * 8 * 1 + 1);
    expect(sizes.map((s) => [s.field, s.parameters, s.largest.field])).toEqual([
      ['model.encoder', encoderParams, 'model.encoder.config.layers.2'],
      ['model.decoder', decoderParams, 'model.decoder.config.layers.0'],
    ]);
    expect(parameters).toBe(encoderParams + decoderParams);
  });
});
