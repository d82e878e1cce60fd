import { RunSpecSchema } from '@trainyard/contracts';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { parseStoredSpec } from './stored-spec';

const pretrain = (overrides: Record<string, unknown> = {}) => ({
  kind: 'pretrain',
  name: 'ae',
  dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 4 },
  model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4], latentDim: 8 },
  training: { epochs: 1, batchSize: 8 },
  ...overrides,
});

describe('a run spec as it was stored', () => {
  it('is checked as at submit, its defaults filled in', () => {
    const escaped = jest.fn();
    const spec = parseStoredSpec(pretrain(), escaped);
    expect(spec).toMatchObject({ kind: 'pretrain', name: 'ae', training: { epochs: 1, seed: expect.any(Number) } });
    expect(escaped).not.toHaveBeenCalled();
  });

  it('trains under escaped names when it was named before bidirectional overrides were refused, saying so', () => {
    const escaped = jest.fn();
    const spec = parseStoredSpec(pretrain({ name: 'ae \u202eevil' }), escaped);
    // Checked as any spec, its defaults filled in; the override is text now.
    expect(spec).toMatchObject({ name: 'ae \\u202eevil', model: { latentActivation: expect.any(String) } });
    expect(escaped).toHaveBeenCalledWith(
      'name: Bidirectional formatting character U+202E at position 3 is not allowed',
    );
  });

  it('keeps the position split of an image folder recorded before key splits; anything recorded since as it says', () => {
    const finetune = (split: Record<string, unknown> | undefined) => ({
      kind: 'finetune',
      name: 'ft',
      dataset: { name: 'image-folder', datasetId: '5f0e7c1a-9d2b-4c3e-8f4a-1b2c3d4e5f60', split },
    });
    const splitOf = (spec: ReturnType<typeof parseStoredSpec>) =>
      spec.kind === 'finetune' && spec.dataset.name === 'image-folder' ? spec.dataset.split : undefined;
    const stored = { validation: 0.1, test: 0.2, seed: 3 };
    expect(splitOf(parseStoredSpec(finetune(stored), jest.fn()))).toEqual({ ...stored, assign: 'position' });
    expect(splitOf(parseStoredSpec(finetune(undefined), jest.fn()))).toMatchObject({ assign: 'position' });
    expect(splitOf(parseStoredSpec(finetune({ ...stored, assign: 'key' }), jest.fn()))).toMatchObject({
      assign: 'key',
    });
    // Submitted, the default is a key split.
    expect(RunSpecSchema.parse(finetune(stored))).toMatchObject({ dataset: { split: { assign: 'key' } } });
  });

  it('is refused for any other rule, however long it has been stored: a model past the bounds, a wrong shape', () => {
    const large = pretrain({
      dataset: { name: 'synthetic-shapes', imageSize: 64, perClass: 4, channels: 3 },
      model: { type: 'conv-autoencoder', inputShape: [64, 64, 3], filters: [256], latentDim: 1024 },
    });
    expect(() => parseStoredSpec(large, jest.fn())).toThrow(/The run spec is invalid: model\.\w+: /);
    // Even named with an override: escaping the name does not make the model fit.
    expect(() => parseStoredSpec({ ...large, name: 'big \u202e' }, jest.fn())).toThrow(InvalidTrainingInputError);
    expect(() => parseStoredSpec(pretrain({ training: { epochs: 'ten' } }), jest.fn())).toThrow(
      InvalidTrainingInputError,
    );
    expect(() => parseStoredSpec({ kind: 'pretrain' }, jest.fn())).toThrow(/The run spec is invalid: /);
  });
});
