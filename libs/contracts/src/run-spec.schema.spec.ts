import { parseRunSpec } from './run-spec.schema';
import { isTerminal } from './run-state';

describe('parseRunSpec', () => {
  it('fills every default of a minimal pretrain spec', () => {
    const result = parseRunSpec({ kind: 'pretrain', name: 'ae', dataset: { name: 'mnist' } });
    expect(result).toEqual({
      ok: true,
      spec: {
        kind: 'pretrain',
        name: 'ae',
        dataset: { name: 'mnist', testPerClass: 100 },
        model: { type: 'conv-autoencoder', inputShape: [28, 28, 1], filters: [16, 32], latentDim: 64 },
        training: { epochs: 5, batchSize: 32, optimizer: 'adam', learningRate: 1e-3, validationSplit: 0.1, seed: 42 },
        checkpoint: { everyEpochs: 1 },
      },
    });
  });

  it('defaults a fine-tune to a from-scratch classifier', () => {
    const result = parseRunSpec({ kind: 'finetune', name: 'ft', dataset: { name: 'synthetic-shapes' } });
    expect(result.ok && result.spec.model).toEqual({
      type: 'classifier',
      baseRunId: null,
      inputShape: [28, 28, 1],
      filters: [16, 32],
      latentDim: 64,
      headUnits: 0,
      dropout: 0,
      freezeBase: false,
    });
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
    for (const training of [{ epochs: 0 }, { epochs: 1001 }, { batchSize: 0 }, { validationSplit: 0.9 }, { learningRate: 0 }]) {
      expect(parseRunSpec({ kind: 'pretrain', name: 'x', dataset: { name: 'mnist' }, training }).ok).toBe(false);
    }
    expect(parseRunSpec({ kind: 'pretrain', name: 'x', dataset: { name: 'mnist' }, model: { type: 'conv-autoencoder', filters: [] } }).ok).toBe(false);
  });
});

describe('run states', () => {
  it('knows which states are final', () => {
    expect(['SUCCEEDED', 'FAILED', 'CANCELLED'].every((s) => isTerminal(s as never))).toBe(true);
    expect(['QUEUED', 'RUNNING', 'PREEMPTED'].some((s) => isTerminal(s as never))).toBe(false);
  });
});
