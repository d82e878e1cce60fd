import {
  ClassifierSchema,
  ConvAutoencoderSchema,
  type FinetuneSpec,
  parseRunSpec,
  type PretrainSpec,
  type RunSpec,
  type RunSpecInput,
  RunSpecSchema,
} from './run-spec.schema';
import {
  BACKWARD_FACTOR,
  FROZEN_FACTOR,
  GIB,
  largestBatchWithin,
  modelFootprint,
  placementMemoryGb,
  storedPlacementMemoryGb,
  storedTrainingMemory,
  trainingBytes,
  trainingMemory,
  type BaseRunSpec,
  trainingMemoryOnBase,
  trainingMemoryOnBaseRun,
  storedOnBaseRun,
  storedTrainingMemoryOnBaseRun,
  trainingMemoryOnPretrain,
} from './training-memory';

function parsed(input: RunSpecInput): RunSpec {
  const result = parseRunSpec(input);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.spec;
}

const tinyShapes = { name: 'synthetic-shapes', imageSize: 8, channels: 1, perClass: 4 } as const;

/**
 * 8×8×1 → conv 2 (3×3×1×2 + 2 = 20 weights; 8×8×2 = 128 values an image) → pool (32) → flatten (32)
 * → latent 2 (32×2 + 2 = 66; 2) → dense 32 (2×32 + 32 = 96; 32) → reshape (32) → deconv 2, stride 2
 * (3×3×2×2 + 2 = 38; 128) → conv 1, sigmoid (3×3×2×1 + 1 = 19; 64): 239 weights; 64 input values +
 * 128 + 32 + 32 + 2 + 32 + 32 + 128 + 64 = 514 values an image; input and target 64 + 64.
 */
const tinyPretrain = (training: object = {}) =>
  parsed({
    kind: 'pretrain',
    name: 'tiny',
    dataset: tinyShapes,
    model: { type: 'conv-autoencoder', inputShape: [8, 8, 1], filters: [2], latentDim: 2 },
    training: { epochs: 1, batchSize: 4, ...training },
  });

/** The tiny pretrain's encoder under a head, from scratch: 218 weights, 294 values an image, 68 of input and target. */
const tinyFinetune = (model: object, training: object = {}) =>
  parsed({
    kind: 'finetune',
    name: 'tiny',
    dataset: tinyShapes,
    model: { type: 'classifier', inputShape: [8, 8, 1], filters: [2], latentDim: 2, ...model },
    training: { epochs: 1, batchSize: 4, ...training },
  });

describe('the training-memory estimate', () => {
  it("counts a tiny autoencoder's weights, activations and batch by hand", () => {
    const memory = trainingMemory(tinyPretrain());
    expect(memory?.footprint).toEqual({
      parameters: 239,
      activationsPerImage: 514,
      inputPerImage: 128,
      frozenParameters: 0,
      frozenActivationsPerImage: 0,
    });
    // Adam: weights, gradients and 2 slots; 4 images of activations × the backward factor, and the batch.
    expect(memory?.bytes).toBe(4 * (239 * 4 + 4 * (514 * BACKWARD_FACTOR + 128)));
    expect(memory).toMatchObject({ batch: 4, batchField: 'training.batchSize', optimizer: 'adam' });
  });

  it('keeps as many slots a weight as the optimizer does: sgd none, rmsprop two', () => {
    const activations = 4 * 4 * (514 * BACKWARD_FACTOR + 128);
    expect(trainingMemory(tinyPretrain({ optimizer: 'sgd' }))?.bytes).toBe(4 * 239 * 2 + activations);
    expect(trainingMemory(tinyPretrain({ optimizer: 'rmsprop' }))?.bytes).toBe(4 * 239 * 4 + activations);
  });

  it('grows with the batch by the same bytes an image', () => {
    const one = trainingMemory(tinyPretrain({ batchSize: 1 }))!.bytes;
    const two = trainingMemory(tinyPretrain({ batchSize: 2 }))!.bytes;
    expect(trainingMemory(tinyPretrain({ batchSize: 512 }))!.bytes).toBe(one + 511 * (two - one));
  });

  it("sums a from-scratch fine-tune's encoder (latent included) and its head", () => {
    // Encoder: 20 + 66 weights, 64 + 128 + 32 + 32 + 2 values; head on the 4×4×2 maps: flatten (32),
    // softmax over the 4 shapes (32×4 + 4 = 132; 4). Input and one-hot target: 64 + 4.
    const unfrozen = { frozenParameters: 0, frozenActivationsPerImage: 0 };
    expect(modelFootprint(tinyFinetune({ headNorm: 'none' }))).toEqual({
      parameters: 218,
      activationsPerImage: 294,
      inputPerImage: 68,
      ...unfrozen,
    });
    // Batch norm on the 32 features: 4 × 32 weights (moving statistics included), held three times over.
    expect(modelFootprint(tinyFinetune({ headNorm: 'batchNorm' }))).toEqual({
      parameters: 218 + 128,
      activationsPerImage: 294 + 3 * 32,
      inputPerImage: 68,
      ...unfrozen,
    });
  });

  it("holds a frozen base's weights alone and its outputs once: no gradients, slots or backward pass for them", () => {
    // The tiny fine-tune above: its encoder (20 + 66 weights; 128 + 32 + 32 + 2 values) frozen.
    const expected = { parameters: 218, activationsPerImage: 294, inputPerImage: 68, frozenParameters: 86 };
    for (const frozen of [{ freezing: { mode: 'base' } }, { freezeBase: true }]) {
      const memory = trainingMemory(tinyFinetune({ headNorm: 'none', ...frozen }))!;
      expect(memory.footprint).toEqual({ ...expected, frozenActivationsPerImage: 194 });
      // Adam on the head's 132 weights; the encoder's 86 held once; 4 images: the head's values and
      // the input × BACKWARD_FACTOR, the encoder's × FROZEN_FACTOR, and the batch.
      expect(memory.bytes).toBe(4 * (132 * 4 + 86 + 4 * ((294 - 194) * BACKWARD_FACTOR + 194 * FROZEN_FACTOR + 68)));
      expect(memory.bytes).toBeLessThan(trainingMemory(tinyFinetune({ headNorm: 'none' }))!.bytes);
    }
    // Two-stage unfreezing peaks in its second stage, the top layers training: sized as unfrozen.
    const twoStage = tinyFinetune({ headNorm: 'none', freezing: { mode: 'two-stage' } }, { epochs: 2 });
    expect(trainingMemory(twoStage)).toEqual(trainingMemory(tinyFinetune({ headNorm: 'none' }, { epochs: 2 })));
    // A spec stored before `freezing` existed reads as unfrozen, not as none.
    const { freezing: _freezing, ...older } = (tinyFinetune({ headNorm: 'none' }) as FinetuneSpec).model;
    const stored = {
      ...JSON.parse(JSON.stringify(tinyFinetune({ headNorm: 'none' }))),
      model: { ...older, freezeBase: true },
    };
    expect(storedTrainingMemory(stored)).toEqual(trainingMemory(tinyFinetune({ headNorm: 'none' })));
    // On a pretrain's encoder, the step's freezing is its own.
    const step = tinyFinetune({ headNorm: 'none', freezing: { mode: 'base' } }) as FinetuneSpec;
    expect(trainingMemoryOnPretrain(step, tinyPretrain() as PretrainSpec)?.footprint.frozenParameters).toBe(86);
  });

  it('makes none where the spec does not decide the model: a fine-tune on a base, an evaluation', () => {
    const onBase = parsed({
      kind: 'finetune',
      name: 'x',
      dataset: tinyShapes,
      model: { type: 'classifier', baseRunId: '6f1c1a0e-2b7d-4c51-9a77-0d7f2f6f9d11' },
      training: { epochs: 1 },
    });
    expect(trainingMemory(onBase)).toBeNull();
    const evaluation = parsed({
      kind: 'evaluate',
      name: 'x',
      checkpoint: { runId: '6f1c1a0e-2b7d-4c51-9a77-0d7f2f6f9d11' },
    });
    expect(trainingMemory(evaluation)).toBeNull();
  });

  it("sizes a pipeline's fine-tune step as a fine-tune from scratch with its pretrain's encoder", () => {
    const pretrain = tinyPretrain() as PretrainSpec;
    const step = (model: object = {}) =>
      parsed({
        kind: 'finetune',
        name: 'step',
        dataset: tinyShapes,
        model: { type: 'classifier', headUnits: 8, ...model },
        training: { epochs: 1, batchSize: 16 },
      }) as FinetuneSpec;
    // Its own encoder fields are the defaults: the pretrain's (inputShape [8, 8, 1], filters [2], latentDim 2) are trained.
    const scratch = step({ inputShape: [8, 8, 1], filters: [2], latentDim: 2 });
    expect(trainingMemoryOnPretrain(step(), pretrain)).toEqual(trainingMemory(scratch));
    expect(trainingMemoryOnPretrain(step({ cutAt: 'latent' }), pretrain)).toEqual(
      trainingMemory(step({ inputShape: [8, 8, 1], filters: [2], latentDim: 2, cutAt: 'latent' })),
    );
    expect(trainingMemoryOnPretrain(step(), pretrain)!.bytes).not.toBe(trainingMemory(step())!.bytes);
    // A field the pretrain's encoder cannot honour (refused at submit): none.
    expect(trainingMemoryOnPretrain(step({ filters: [4, 4] }), pretrain)).toBeNull();
    const own = parsed({
      kind: 'pretrain',
      name: 'own',
      dataset: tinyShapes,
      model: {
        type: 'layers-autoencoder',
        encoder: {
          class_name: 'Sequential',
          config: {
            layers: [
              {
                class_name: 'Conv2D',
                config: { name: 'e', filters: 2, kernel_size: 3, padding: 'same', batch_input_shape: [null, 8, 8, 1] },
              },
            ],
          },
        },
        decoder: {
          class_name: 'Sequential',
          config: {
            layers: [
              {
                class_name: 'Conv2D',
                config: { name: 'd', filters: 1, kernel_size: 3, padding: 'same', activation: 'sigmoid' },
              },
            ],
          },
        },
      },
    }) as PretrainSpec;
    // A pretrain of the spec's own layers: its encoder whole under the step's head, as the same
    // topology trained from scratch as `layers.base`; with cutAt (the worker refuses it) none.
    if (own.model.type !== 'layers-autoencoder') throw new Error('not a layers-autoencoder');
    const ownBase = step({ layers: { base: own.model.encoder } });
    expect(trainingMemoryOnPretrain(step(), own)).toEqual(trainingMemory(ownBase));
    expect(trainingMemoryOnPretrain(step(), own)).not.toBeNull();
    expect(trainingMemoryOnPretrain(step({ cutAt: 'conv' }), own)).toBeNull();
  });

  it("sizes a fine-tune on a base run by that run's stored spec: a pretrain's, a registered fine-tune's from scratch", () => {
    const onBase = (model: object) =>
      parsed({
        kind: 'finetune',
        name: 'on a base',
        dataset: tinyShapes,
        model: { type: 'classifier', ...model },
        training: { epochs: 1, batchSize: 16 },
      });
    const baseRunId = '6f1c1a0e-2b7d-4c51-9a77-0d7f2f6f9d11';
    const stored = JSON.parse(JSON.stringify(tinyPretrain())) as unknown;
    const expected = trainingMemory(onBase({ inputShape: [8, 8, 1], filters: [2], latentDim: 2 }));
    expect(trainingMemoryOnBaseRun(onBase({ baseRunId }), stored)).toEqual(expected);
    expect(trainingMemoryOnBaseRun(onBase({ baseModel: { name: 'm', version: 1 } }), stored)).toEqual(expected);
    // A registered fine-tune's run (from scratch): its classifier cut below its head, a fresh head on it.
    expect(trainingMemoryOnBaseRun(onBase({ baseRunId }), JSON.parse(JSON.stringify(onBase({}))))).not.toBeNull();
    // One trained on a base itself (its architecture is its base's), a spec that no longer reads, a base that is none of these: none.
    expect(
      trainingMemoryOnBaseRun(onBase({ baseRunId }), JSON.parse(JSON.stringify(onBase({ baseRunId })))),
    ).toBeNull();
    expect(trainingMemoryOnBaseRun(onBase({ baseRunId }), { kind: 'pretrain' })).toBeNull();
    expect(trainingMemoryOnBaseRun(onBase({ baseRunId }), null)).toBeNull();
    expect(trainingMemoryOnBaseRun(onBase({ importedModel: { uri: 's3://b/m/model.json' } }), stored)).toBeNull();
    expect(trainingMemoryOnBaseRun(onBase({}), stored)).toBeNull();

    // As a worker reads them: stored specs, the base read only for a fine-tune that names one.
    const storedOnBase = (model: object) => JSON.parse(JSON.stringify(onBase(model))) as unknown;
    expect(storedOnBaseRun(storedOnBase({ baseRunId }))).toBe(true);
    expect(storedOnBaseRun(storedOnBase({ baseModel: { name: 'm', version: 1 } }))).toBe(true);
    expect(storedTrainingMemoryOnBaseRun(storedOnBase({ baseRunId }), stored)).toEqual(expected);
    for (const other of [storedOnBase({}), storedOnBase({ importedModel: { uri: 's3://b/m/model.json' } }), stored])
      expect(storedOnBaseRun(other)).toBe(false);
    expect(storedOnBaseRun(null)).toBe(false);
    expect(storedOnBaseRun({ kind: 'finetune', model: null })).toBe(false);
    // An older stored fine-tune that lacks what the estimate reads: none, not a throw.
    expect(storedTrainingMemoryOnBaseRun({ kind: 'finetune', model: { baseRunId } }, stored)).toBeNull();
    expect(storedTrainingMemoryOnBaseRun(storedOnBase({ baseRunId }), null)).toBeNull();
  });

  it("reads a base's stored spec as stored, unparsed: the parsed estimate on every built-in pretrain, none on garbage", () => {
    const onBase = (model: object) =>
      JSON.parse(
        JSON.stringify(
          parsed({
            kind: 'finetune',
            name: 'on a base',
            dataset: tinyShapes,
            model: { type: 'classifier', ...model },
            training: { epochs: 1, batchSize: 16 },
          }),
        ),
      ) as RunSpec;
    const finetunes = [
      onBase({ baseRunId: '6f1c1a0e-2b7d-4c51-9a77-0d7f2f6f9d11' }),
      onBase({ baseModel: { name: 'm', version: 1 }, headUnits: 32, freezing: { mode: 'base' } }),
    ];
    const pretrain = (imageSize: number, channels: 1 | 3, model: object) =>
      JSON.parse(
        JSON.stringify(
          parsed({
            kind: 'pretrain',
            name: 'base',
            dataset: { name: 'synthetic-shapes', imageSize, channels, perClass: 4 },
            model: { type: 'conv-autoencoder', inputShape: [imageSize, imageSize, channels], ...model },
            training: { epochs: 1, batchSize: 8 },
          }),
        ),
      ) as unknown;
    let estimated = 0;
    for (const [imageSize, channels] of [
      [8, 1],
      [28, 1],
      [64, 3],
      [48, 3],
    ] as const)
      for (const filters of [[2], [16, 32], [32, 64], [8, 16, 32, 64]])
        for (const latentDim of [2, 64, 1024])
          for (const latentActivation of ['relu', 'linear'])
            for (const finetune of finetunes) {
              const base = pretrain(imageSize, channels, { filters, latentDim, latentActivation });
              const expected = trainingMemoryOnBaseRun(finetune, base);
              expect(storedTrainingMemoryOnBaseRun(finetune, base)).toEqual(expected);
              if (expected) estimated++;
            }
    // Most of them have an estimate (an 8×8 image under four pools has none, parsed or not).
    expect(estimated).toBeGreaterThan(150);

    const good = pretrain(64, 3, { filters: [32, 64] }) as { kind: string; model: Record<string, unknown> };
    const withModel = (fields: object) => ({ ...good, model: { ...good.model, ...fields } });
    const without = (field: string) => ({ ...good, model: { ...good.model, [field]: undefined } });
    const garbage: unknown[] = [
      null,
      'pretrain',
      42,
      [],
      [good],
      { ...good, kind: 'finetune' },
      { ...good, kind: ['pretrain'] },
      { ...good, model: [good.model] },
      { ...good, model: null },
      withModel({ type: 'layers-autoencoder' }),
      withModel({ filters: '32,64' }),
      withModel({ filters: [] }),
      withModel({ filters: [32, '64'] }),
      withModel({ filters: [1.5] }),
      withModel({ filters: [0] }),
      withModel({ filters: { 0: 32, length: 1 } }),
      withModel({ inputShape: [64, 64] }),
      withModel({ inputShape: '64,64,3' }),
      withModel({ inputShape: [64, 64, -3] }),
      withModel({ inputShape: [[64], 64, 3] }),
      withModel({ latentDim: '64' }),
      withModel({ latentDim: 0 }),
      withModel({ latentDim: null }),
      withModel({ latentDim: 1e300 }),
      withModel({ latentActivation: 'toString' }),
      withModel({ latentActivation: 'constructor' }),
      withModel({ latentActivation: ['relu'] }),
      ...['type', 'inputShape', 'filters', 'latentDim', 'latentActivation'].map(without),
      // Prototype keys: a `__proto__` key as JSON.parse makes it (an own key), and fields only inherited.
      JSON.parse(`{"kind":"pretrain","model":{"__proto__":${JSON.stringify(good.model)}}}`),
      JSON.parse(`{"__proto__":${JSON.stringify(good)}}`),
      Object.create(good) as unknown,
      { kind: 'pretrain', model: Object.create(good.model) as unknown },
    ];
    // A worker's job costs no parse of the base's spec.
    const parses = jest.spyOn(RunSpecSchema, 'safeParse');
    try {
      expect(storedTrainingMemoryOnBaseRun(finetunes[0]!, good)).not.toBeNull();
      expect(parses).not.toHaveBeenCalled();
    } finally {
      parses.mockRestore();
    }
    for (const finetune of finetunes) {
      expect(storedTrainingMemoryOnBaseRun(finetune, good)).not.toBeNull();
      for (const base of garbage)
        expect({ base, memory: storedTrainingMemoryOnBaseRun(finetune, base) }).toEqual({ base, memory: null });
    }
  });

  it("reads a base's stored fields in the ranges RunSpecSchema allows: none past them, never a throw", () => {
    const onBase = JSON.parse(
      JSON.stringify(
        parsed({
          kind: 'finetune',
          name: 'on a base',
          dataset: tinyShapes,
          model: { type: 'classifier', baseModel: { name: 'm', version: 1 } },
          training: { epochs: 1, batchSize: 16 },
        }),
      ),
    ) as unknown;
    const pretrain = (model: object) => {
      const spec = tinyPretrain() as PretrainSpec;
      return { ...spec, model: { ...spec.model, ...model } };
    };
    const classifier = (model: object) => {
      const spec = tinyFinetune({}) as FinetuneSpec;
      return { ...spec, model: { ...spec.model, ...model } };
    };
    // At each bound the schema takes the value and the reader sizes it; one step past, the schema refuses it and the reader gives none.
    const bounds: [string, object, object][] = [
      ['inputShape', { inputShape: [8, 256, 1] }, { inputShape: [8, 257, 1] }],
      ['inputShape', { inputShape: [256, 8, 3] }, { inputShape: [7, 8, 3] }],
      ['inputShape', { inputShape: [8, 8, 3] }, { inputShape: [8, 8, 2] }],
      ['filters', { filters: [256] }, { filters: [257] }],
      ['filters', { filters: [1] }, { filters: [-1] }],
      ['filters', { filters: [1, 1, 1, 1] }, { filters: [1, 1, 1, 1, 1] }],
      ['latentDim', { latentDim: 2 }, { latentDim: 1 }],
      ['latentDim', { latentDim: 1024 }, { latentDim: 1025 }],
      ['latentDim', { latentDim: 1024 }, { latentDim: -64 }],
    ];
    const heads: [string, object, object][] = [
      ['headUnits', { headUnits: 4096 }, { headUnits: 4097 }],
      ['headUnits', { headUnits: 0 }, { headUnits: -1 }],
      ['dropout', { dropout: 0.9 }, { dropout: 0.95 }],
      ['dropout', { dropout: 0 }, { dropout: -0.1 }],
      ['headNorm', { headNorm: 'none' }, { headNorm: 'layerNorm' }],
      ['cutAt', { cutAt: 'latent' }, { cutAt: 'middle' }],
    ];
    const cases = [
      ...bounds.map(([field, at, past]) => ({ field, at: pretrain(at), past: pretrain(past) })),
      ...[...bounds, ...heads].map(([field, at, past]) => ({ field, at: classifier(at), past: classifier(past) })),
    ];
    for (const { field, at, past } of cases) {
      const stored = (spec: object) => JSON.parse(JSON.stringify(spec)) as unknown;
      const takes = (spec: { kind: string; model: object }) =>
        (spec.kind === 'pretrain' ? ConvAutoencoderSchema : ClassifierSchema).safeParse(stored(spec.model)).success;
      expect({ field, at: takes(at) }).toEqual({ field, at: true });
      expect({ field, past: takes(past) }).toEqual({ field, past: false });
      expect({ field, at: storedTrainingMemoryOnBaseRun(onBase, stored(at)) }).toEqual({
        field,
        at: trainingMemoryOnBase(onBase as RunSpec, stored(at) as BaseRunSpec),
      });
      expect({ field, at: storedTrainingMemoryOnBaseRun(onBase, stored(at)) === null }).toEqual({ field, at: false });
      expect({ field, past: storedTrainingMemoryOnBaseRun(onBase, stored(past)) }).toEqual({ field, past: null });
    }
  });

  it("reads a layers-autoencoder's or a registered fine-tune's stored spec as stored: the parsed estimate, none on garbage", () => {
    const stored = (spec: unknown) => JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
    const onBase = stored(
      parsed({
        kind: 'finetune',
        name: 'on a base',
        dataset: tinyShapes,
        model: { type: 'classifier', baseModel: { name: 'm', version: 1 }, headUnits: 8 },
        training: { epochs: 1, batchSize: 16 },
      }),
    );
    const conv = (name: string, extra: object = {}) => ({
      class_name: 'Conv2D',
      config: { name, filters: 2, kernel_size: 3, padding: 'same', ...extra },
    });
    const encoder = {
      class_name: 'Sequential',
      config: { layers: [conv('e', { batch_input_shape: [null, 8, 8, 1] })] },
    };
    const layersPretrain = stored(
      parsed({
        kind: 'pretrain',
        name: 'own',
        dataset: tinyShapes,
        model: {
          type: 'layers-autoencoder',
          encoder,
          decoder: { class_name: 'Sequential', config: { layers: [conv('d', { filters: 1, activation: 'sigmoid' })] } },
        },
      }),
    );
    const registered = [
      stored(tinyFinetune({})),
      stored(tinyFinetune({ cutAt: 'latent', headNorm: 'none', dropout: 0.5 })),
      stored(
        parsed({
          kind: 'finetune',
          name: 'own base',
          dataset: tinyShapes,
          model: { type: 'classifier', layers: { base: encoder } },
        }),
      ),
    ];
    for (const base of [layersPretrain, ...registered]) {
      const expected = trainingMemoryOnBaseRun(onBase as RunSpec, base);
      expect({ base, memory: storedTrainingMemoryOnBaseRun(onBase, base) }).toEqual({ base, memory: expected });
      expect(expected).not.toBeNull();
    }
    const model = (spec: Record<string, unknown>, fields: object) => ({
      ...spec,
      model: { ...(spec['model'] as object), ...fields },
    });
    const withEncoderLayer = (layer: object) =>
      model(layersPretrain, { encoder: { class_name: 'Sequential', config: { layers: [layer] } } });
    const garbage: unknown[] = [
      model(layersPretrain, { encoder: undefined }),
      model(layersPretrain, { encoder: 'Sequential' }),
      model(layersPretrain, { encoder: { class_name: 'Model', config: encoder.config } }),
      model(layersPretrain, { encoder: { class_name: 'Sequential', config: { layers: [] } } }),
      withEncoderLayer(conv('e', { batch_input_shape: [null, 8, 8, 1], filters: -2 })),
      withEncoderLayer(conv('e', { batch_input_shape: [null, 8, 8, 1], filters: 2.3 })),
      withEncoderLayer({ class_name: 'Conv2D', config: null }),
      withEncoderLayer({ class_name: 'Conv2D' }),
      model(layersPretrain, {
        encoder: {
          class_name: 'Sequential',
          config: { layers: Array(101).fill(conv('e', { batch_input_shape: [null, 8, 8, 1] })) },
        },
      }),
      model(registered[0]!, { baseModel: { name: 'n', version: 2 } }),
      model(registered[0]!, { baseRunId: '6f1c1a0e-2b7d-4c51-9a77-0d7f2f6f9d11' }),
      model(registered[0]!, { importedModel: { uri: 's3://b/m/model.json' } }),
      model(registered[0]!, { type: 'conv-autoencoder' }),
      model(registered[0]!, { filters: [-16] }),
      model(registered[0]!, { headUnits: 1e9 }),
      model(registered[0]!, { dropout: Number.NaN }),
      model(registered[0]!, { layers: { head: 'dense' } }),
      model(registered[2]!, { layers: { base: { ...encoder, class_name: 'Functional' } } }),
      { ...registered[0], dataset: undefined },
      JSON.parse(`{"__proto__":${JSON.stringify(registered[0])}}`),
    ];
    garbage.forEach((base, i) =>
      expect({ i, memory: storedTrainingMemoryOnBaseRun(onBase, base) }).toEqual({ i, memory: null }),
    );
  });

  it('finds the largest batch whose estimate fits a limit', () => {
    const memory = trainingMemory(tinyPretrain())!;
    const limit = trainingBytes(memory.footprint, 'adam', 1000) + 1;
    expect(largestBatchWithin(memory, limit)).toBe(1000);
    expect(largestBatchWithin(memory, limit - 2)).toBe(999);
    expect(largestBatchWithin(memory, 100)).toBe(0);
  });

  it('places a run by the larger of what it declares and its estimate', () => {
    const spec = tinyPretrain({ batchSize: 1024 });
    const memory = trainingMemory(spec)!;
    expect(placementMemoryGb(spec, memory)).toBe(memory.bytes / GIB);
    expect(placementMemoryGb({ ...spec, resources: { accelerator: 'any', memoryGb: 8 } }, memory)).toBe(8);
    expect(placementMemoryGb({ resources: { memoryGb: 0.000001 } }, memory)).toBe(memory.bytes / GIB);
    expect(placementMemoryGb({}, null)).toBeUndefined();
    // As stored (read as it is): the same estimate; one that lacks what the estimate reads (an
    // older version's) has none, never a NaN that no worker would fit, and is placed by what it declares.
    expect(storedPlacementMemoryGb(JSON.parse(JSON.stringify(spec)))).toBe(memory.bytes / GIB);
    expect(storedPlacementMemoryGb({ kind: 'pretrain', resources: { memoryGb: 3 } })).toBe(3);
    const { training: _training, ...untrained } = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
    expect(storedTrainingMemory(untrained)).toBeNull();
    expect(storedPlacementMemoryGb({ ...untrained, resources: { memoryGb: 2 } })).toBe(2);
    expect(storedPlacementMemoryGb({ ...untrained, training: { batchSize: 'many' } })).toBeUndefined();
    expect(storedPlacementMemoryGb(null)).toBeUndefined();
  });
});
