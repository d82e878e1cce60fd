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
    const broken = jest.fn();
    const spec = parseStoredSpec(pretrain(), broken);
    expect(spec).toMatchObject({ kind: 'pretrain', name: 'ae', training: { epochs: 1, seed: expect.any(Number) } });
    expect(broken).not.toHaveBeenCalled();
  });

  it('trains as it was accepted when it breaks only rules added since, saying which', () => {
    // Accepted before bidirectional overrides were refused in names…
    const named = pretrain({ name: 'ae \u202eevil' });
    const broken = jest.fn();
    expect(parseStoredSpec(named, broken)).toBe(named);
    expect(broken).toHaveBeenCalledWith('name: Bidirectional formatting character U+202E at position 3 is not allowed');
    // …and before built-in models were held to the size bounds (537M parameters).
    const large = pretrain({
      dataset: { name: 'synthetic-shapes', imageSize: 64, perClass: 4, channels: 3 },
      model: { type: 'conv-autoencoder', inputShape: [64, 64, 3], filters: [256], latentDim: 1024 },
    });
    const sized = jest.fn();
    expect(parseStoredSpec(large, sized)).toBe(large);
    expect(sized).toHaveBeenCalledWith(expect.stringMatching(/^model\.\w+: /));
  });

  it('is refused when its shape is wrong: nothing could train on it', () => {
    expect(() => parseStoredSpec(pretrain({ training: { epochs: 'ten' } }), jest.fn())).toThrow(
      InvalidTrainingInputError,
    );
    expect(() => parseStoredSpec({ kind: 'pretrain' }, jest.fn())).toThrow(/The run spec is invalid: /);
  });
});
