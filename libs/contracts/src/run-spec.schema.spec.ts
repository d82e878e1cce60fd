import { effectiveFreezing } from './classifier-base.schema';
import { FinetuneStepSpecSchema, parseRunSpec } from './run-spec.schema';
import { isTerminal } from './run-state';

describe('parseRunSpec', () => {
  it('fills every default of a minimal pretrain spec', () => {
    const result = parseRunSpec({ kind: 'pretrain', name: 'ae', dataset: { name: 'mnist' } });
    expect(result).toEqual({
      ok: true,
      spec: {
        kind: 'pretrain',
        name: 'ae',
        dataset: { name: 'mnist' },
        model: {
          type: 'conv-autoencoder',
          inputShape: [28, 28, 1],
          filters: [16, 32],
          latentDim: 64,
          latentActivation: 'relu',
          loss: 'mse',
        },
        training: { epochs: 5, batchSize: 32, optimizer: 'adam', learningRate: 1e-3, validationSplit: 0.1, seed: 42 },
        checkpoint: { everyEpochs: 1 },
      },
    });
  });

  it('defaults a fine-tune to a from-scratch classifier', () => {
    const result = parseRunSpec({ kind: 'finetune', name: 'ft', dataset: { name: 'synthetic-shapes' } });
    expect(result.ok && result.spec.kind === 'finetune' && result.spec.model).toEqual({
      type: 'classifier',
      baseRunId: null,
      // The dataset's images: the shapes are 16×16 grey by default.
      inputShape: [16, 16, 1],
      filters: [16, 32],
      latentDim: 64,
      latentActivation: 'relu',
      headNorm: 'batchNorm',
      headUnits: 0,
      dropout: 0,
      freezing: { mode: 'none', unfreezeTopLayers: 2, unfreezeAfterEpochs: 1 },
      freezeBase: false,
    });
  });

  it("takes a model given without type as the kind's built-in one, and still names a wrong type or key", () => {
    const finetune = parseRunSpec({
      kind: 'finetune',
      name: 'ft',
      dataset: { name: 'synthetic-shapes' },
      model: { headUnits: 32 },
    });
    expect(finetune.ok && finetune.spec.kind === 'finetune' && finetune.spec.model).toMatchObject({
      type: 'classifier',
      headUnits: 32,
      inputShape: [16, 16, 1],
    });
    const pretrain = parseRunSpec({
      kind: 'pretrain',
      name: 'ae',
      dataset: { name: 'mnist' },
      model: { latentDim: 16 },
    });
    expect(pretrain.ok && pretrain.spec.kind === 'pretrain' && pretrain.spec.model).toMatchObject({
      type: 'conv-autoencoder',
      latentDim: 16,
      inputShape: [28, 28, 1],
    });
    const fields = (raw: unknown) => {
      const result = parseRunSpec(raw);
      return result.ok ? [] : result.errors.map((e) => e.field);
    };
    expect(fields({ kind: 'finetune', name: 'ft', dataset: { name: 'mnist' }, model: { type: 'bogus' } })).toEqual([
      'model.type',
    ]);
    expect(fields({ kind: 'pretrain', name: 'ae', dataset: { name: 'mnist' }, model: { type: null } })).toEqual([
      'model.type',
    ]);
    const prototypeKey = JSON.parse(
      '{"kind":"finetune","name":"ft","dataset":{"name":"mnist"},"model":{"__proto__":{"x":1}}}',
    );
    expect(fields(prototypeKey)).toEqual(['model.__proto__']);
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
    expect(fields({ kind: 'finetune', name: 'ft', dataset: { name: 'mnist' }, model: 'classifier' })).toEqual([
      'model',
    ]);
  });

  it('names every bad field, including unknown ones', () => {
    const result = parseRunSpec({
      kind: 'finetune',
      name: '',
      dataset: { name: 'mnist', labelsPerClass: 0 },
      model: { type: 'classifier', baseRunId: 'not-a-uuid', dropout: 1.5 },
      training: { learningRate: 5, epochs: 1.5, batchSize: 4096 },
      bogus: 1,
    });
    expect(result.ok).toBe(false);
    const fields = !result.ok ? result.errors.map((e) => e.field).sort() : [];
    expect(fields).toEqual(
      [
        'bogus',
        'dataset.labelsPerClass',
        'model.baseRunId',
        'model.dropout',
        'name',
        'training.batchSize',
        'training.epochs',
        'training.learningRate',
      ].sort(),
    );
  });

  it('rejects an unknown kind or dataset at its discriminator', () => {
    const kind = parseRunSpec({ kind: 'distill', name: 'x' });
    expect(!kind.ok && kind.errors).toEqual([{ field: 'kind', message: expect.any(String) }]);
    const dataset = parseRunSpec({ kind: 'pretrain', name: 'x', dataset: { name: 'imagenet' } });
    expect(!dataset.ok && dataset.errors.map((e) => e.field)).toEqual(['dataset.name']);
  });

  it('bounds every number', () => {
    for (const training of [
      { epochs: 0 },
      { epochs: 1001 },
      { batchSize: 0 },
      { validationSplit: 0.9 },
      { learningRate: 0 },
    ]) {
      expect(parseRunSpec({ kind: 'pretrain', name: 'x', dataset: { name: 'mnist' }, training }).ok).toBe(false);
    }
    expect(
      parseRunSpec({
        kind: 'pretrain',
        name: 'x',
        dataset: { name: 'mnist' },
        model: { type: 'conv-autoencoder', filters: [] },
      }).ok,
    ).toBe(false);
  });
});

describe('image folders, augmentation, bases and freezing', () => {
  const datasetId = '6f1c1a0e-2b7d-4c51-9a77-0d7f2f6f9d11';
  const finetune = (extra: Record<string, unknown>) =>
    parseRunSpec({ kind: 'finetune', name: 'ft', dataset: { name: 'image-folder', datasetId }, ...extra });
  const fields = (r: ReturnType<typeof parseRunSpec>) => (r.ok ? [] : r.errors.map((e) => e.field));

  it('fills an image-folder dataset and accepts Keras-named augmentation', () => {
    const result = finetune({ augmentation: { shearRange: 20, zoomRange: 0.2, horizontalFlip: true } });
    expect(result.ok && result.spec.kind === 'finetune' && result.spec.dataset).toEqual({
      name: 'image-folder',
      datasetId,
      imageShape: [64, 64, 3],
      fit: 'cover',
      split: { validation: 0.1, test: 0.2, seed: 0, assign: 'key' },
    });
    expect(result.ok && result.spec.kind === 'finetune' && result.spec.augmentation).toMatchObject({
      shearRange: 20,
      horizontalFlip: true,
      rescale: 1,
    });
    expect(fields(finetune({ augmentation: { shear_range: 0.2 } }))).toEqual(['augmentation.shear_range']);
  });

  it('takes a built-in model’s inputShape from the dataset when left out, and holds a given one to it', () => {
    const shapes = { name: 'synthetic-shapes', imageSize: 8, channels: 3 };
    const pretrain = (model?: object) =>
      parseRunSpec({ kind: 'pretrain', name: 'ae', dataset: shapes, ...(model ? { model } : {}) });
    const inputOf = (r: ReturnType<typeof parseRunSpec>) =>
      r.ok && r.spec.kind !== 'evaluate' && r.spec.model.type !== 'layers-autoencoder' && r.spec.model.inputShape;
    expect(inputOf(pretrain())).toEqual([8, 8, 3]);
    expect(inputOf(pretrain({ type: 'conv-autoencoder', latentDim: 8 }))).toEqual([8, 8, 3]);
    expect(inputOf(finetune({}))).toEqual([64, 64, 3]);
    expect(inputOf(finetune({ dataset: { name: 'image-folder', datasetId, imageShape: [32, 32, 1] } }))).toEqual([
      32, 32, 1,
    ]);
    expect(inputOf(parseRunSpec({ kind: 'pretrain', name: 'ae', dataset: { name: 'mnist' } }))).toEqual([28, 28, 1]);
    // Given, and not the dataset's: a 400 at the field, for a pretrain as for a fine-tune from scratch.
    const wrong = pretrain({ type: 'conv-autoencoder', inputShape: [16, 16, 1] });
    expect(wrong.ok ? [] : wrong.errors).toEqual([
      { field: 'model.inputShape', message: "The encoder takes images of 16×16×1 but the dataset's are 8×8×3" },
    ]);
    expect(fields(finetune({ model: { type: 'classifier', inputShape: [16, 16, 1] } }))).toEqual(['model.inputShape']);
    // A fine-tune on a base builds no built-in encoder: its images may be any size the dataset takes.
    const large = { name: 'image-folder', datasetId, imageShape: [512, 512, 3] };
    const imported = { uri: 'file:///models/m/model.json', cutAtLayer: 'pool' };
    expect(fields(finetune({ dataset: large, model: { type: 'classifier', importedModel: imported } }))).toEqual([]);
    expect(fields(finetune({ dataset: large, model: { type: 'classifier', baseRunId: datasetId } }))).toEqual([]);
    // A stored spec keeps the default it was given then: 28×28×1 is not held against other images.
    expect(inputOf(pretrain({ type: 'conv-autoencoder', inputShape: [28, 28, 1] }))).toEqual([28, 28, 1]);
  });

  it('refuses the built-in encoder on images past 256 pixels a side at dataset.imageShape, whatever its inputShape', () => {
    const large = { name: 'image-folder', datasetId, imageShape: [512, 512, 3] };
    const errorsOf = (r: ReturnType<typeof parseRunSpec>) => (r.ok ? [] : r.errors);
    const why = "The built-in encoder takes 8–256 pixels a side; this dataset's images are 512×512×3: ";
    const resize = ', or resize them (a dataset.imageShape of at most 256×256)';
    const scratch = {
      field: 'dataset.imageShape',
      message: `${why}use a base (model.baseRunId, model.baseModel, model.importedModel or model.layers.base)${resize}`,
    };
    expect(errorsOf(finetune({ dataset: large }))).toEqual([scratch]);
    // The default a stored spec holds, given: no inputShape would do, so it is the images that are named.
    for (const inputShape of [
      [28, 28, 1],
      [256, 256, 3],
    ])
      expect(errorsOf(finetune({ dataset: large, model: { type: 'classifier', inputShape } }))).toEqual([scratch]);
    expect(errorsOf(parseRunSpec({ kind: 'pretrain', name: 'ae', dataset: large }))).toEqual([
      {
        field: 'dataset.imageShape',
        message: `${why}bring the encoder (model.type 'layers-autoencoder')${resize}`,
      },
    ]);
    // Past 256 on one side only.
    const wide = { ...large, imageShape: [64, 320, 3] };
    expect(errorsOf(finetune({ dataset: wide })).map((e) => e.field)).toEqual(['dataset.imageShape']);
    // A pipeline's fine-tune step builds on the pipeline's pretrain, never on the built-in encoder.
    const step = { kind: 'finetune', name: 'ft', dataset: large };
    expect(FinetuneStepSpecSchema.safeParse(step).success).toBe(true);
  });

  it('streams a packed version to fine-tunes only: a pretrain with dataset.stream is refused at its field', () => {
    const stream = { version: 'ab'.repeat(32) };
    const dataset = { name: 'image-folder', datasetId, imageShape: [28, 28, 1], stream };
    const pretrain = parseRunSpec({ kind: 'pretrain', name: 'ae', dataset });
    expect(pretrain.ok ? [] : pretrain.errors).toEqual([
      { field: 'dataset.stream', message: expect.stringMatching(/^A pretrain trains on the image folder itself/) },
    ]);
    expect(fields(finetune({ dataset }))).toEqual([]);
    expect(parseRunSpec({ kind: 'pretrain', name: 'ae', dataset: { ...dataset, stream: undefined } }).ok).toBe(true);
  });

  it('takes one base: a run, a registered model version, or an imported model.json', () => {
    expect(finetune({ model: { type: 'classifier', baseModel: { name: 'flowers', version: 2 } } }).ok).toBe(true);
    expect(
      finetune({
        model: { type: 'classifier', importedModel: { uri: 's3://b/vgg/model.json', cutAtLayer: 'block5_pool' } },
      }).ok,
    ).toBe(true);
    expect(finetune({ model: { type: 'classifier', importedModel: { uri: '/models/vgg/model.json' } } }).ok).toBe(true);
    expect(fields(finetune({ model: { type: 'classifier', importedModel: { uri: 'vgg/model.json' } } }))).toEqual([
      'model.importedModel.uri',
    ]);
    // Its folder is where weights are read: `runsmodel.json` would make it `runs`, every run's files.
    for (const uri of [
      's3://b/runsmodel.json',
      's3://b/vgg/my-model.json',
      '/models/vggmodel.json',
      'file:///model.json/',
    ])
      expect({ uri, fields: fields(finetune({ model: { type: 'classifier', importedModel: { uri } } })) }).toEqual({
        uri,
        fields: ['model.importedModel.uri'],
      });
    expect(finetune({ model: { type: 'classifier', importedModel: { uri: 's3://b/model.json' } } }).ok).toBe(true);
    const two = finetune({ model: { type: 'classifier', baseRunId: datasetId, baseModel: { name: 'x', version: 1 } } });
    expect(fields(two)).toEqual(['model.baseModel']);
    expect(fields(finetune({ model: { type: 'classifier', baseModel: { name: 'x', version: 0 } } }))).toEqual([
      'model.baseModel.version',
    ]);
  });

  it('checks two-stage freezing against the epochs, and keeps freezeBase working', () => {
    const twoStage = { mode: 'two-stage', unfreezeTopLayers: 3, unfreezeAfterEpochs: 2, fineTuneLearningRate: 1e-5 };
    expect(finetune({ model: { type: 'classifier', freezing: twoStage }, training: { epochs: 4 } }).ok).toBe(true);
    expect(fields(finetune({ model: { type: 'classifier', freezing: twoStage }, training: { epochs: 2 } }))).toEqual([
      'model.freezing.unfreezeAfterEpochs',
    ]);
    expect(
      fields(
        finetune({ model: { type: 'classifier', freezeBase: true, freezing: twoStage }, training: { epochs: 4 } }),
      ),
    ).toEqual(['model.freezeBase']);
    const old = finetune({ model: { type: 'classifier', freezeBase: true } });
    expect(old.ok && old.spec.kind === 'finetune' && effectiveFreezing(old.spec.model).mode).toBe('base');
  });

  it('parses an evaluation run and bounds its numbers', () => {
    const result = parseRunSpec({ kind: 'evaluate', name: 'ev', checkpoint: { runId: datasetId } });
    expect(result).toEqual({
      ok: true,
      spec: { kind: 'evaluate', name: 'ev', checkpoint: { runId: datasetId }, split: 'test', topK: 5, batchSize: 64 },
    });
    const bad = parseRunSpec({
      kind: 'evaluate',
      name: 'ev',
      checkpoint: { runId: 'x', sequence: -1 },
      split: 'holdout',
      topK: 0,
    });
    expect(fields(bad).sort()).toEqual(['checkpoint.runId', 'checkpoint.sequence', 'split', 'topK']);
  });

  it('bounds every number of the new fields', () => {
    for (const dataset of [
      { imageShape: [4, 4, 3] },
      { imageShape: [64, 64, 2] },
      { split: { test: 0.9 } },
      { split: { seed: -1 } },
    ]) {
      expect(
        parseRunSpec({ kind: 'finetune', name: 'x', dataset: { name: 'image-folder', datasetId, ...dataset } }).ok,
      ).toBe(false);
    }
    for (const freezing of [{ unfreezeTopLayers: 0 }, { unfreezeAfterEpochs: 1001 }, { fineTuneLearningRate: 2 }]) {
      expect(finetune({ model: { type: 'classifier', freezing } }).ok).toBe(false);
    }
    for (const augmentation of [
      { rotationRange: 181 },
      { cval: 1e9 },
      { cval: 2 },
      { cval: -0.1 },
      { zoomRange: [2, 1] },
    ])
      expect(finetune({ augmentation }).ok).toBe(false);
    // Pixels are in [0, 1]: a constant fill is too.
    expect(finetune({ augmentation: { fillMode: 'constant', cval: 1 } }).ok).toBe(true);
  });
});

describe('run states', () => {
  it('knows which states are final', () => {
    expect(['SUCCEEDED', 'FAILED', 'CANCELLED'].every((s) => isTerminal(s as never))).toBe(true);
    expect(['QUEUED', 'RUNNING', 'PREEMPTED'].some((s) => isTerminal(s as never))).toBe(false);
  });
});
