import { topologySizes } from './layers-model';
import { MAX_LAYER_OUTPUT_ELEMENTS } from './layers-topology';
import { parseRunSpec, type RunSpec, specTopologies } from './run-spec.schema';

const errorsOf = (result: ReturnType<typeof parseRunSpec>) => (result.ok ? [] : result.errors);
const parsed = (input: unknown): RunSpec => {
  const result = parseRunSpec(input);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.spec;
};
const sizesOf = (spec: RunSpec) => {
  const { sizes, parameters } = topologySizes(specTopologies(spec));
  return { parameters, parts: sizes.map((s) => [s.field, s.parameters, s.largest.field, s.largest.name]) };
};
const shapes64 = { name: 'synthetic-shapes', imageSize: 64, channels: 3 };

describe('built-in models, bounded at the schema like a spec’s own topologies', () => {
  it('refuses the audit’s fine-tune: 256×256×256 maps, and an encoder that does not take MNIST’s digits', () => {
    const result = parseRunSpec({
      kind: 'finetune',
      name: 'x',
      dataset: { name: 'mnist', limit: 10 },
      model: { type: 'classifier', inputShape: [256, 256, 3], filters: [256], headUnits: 4096 },
      training: { epochs: 1 },
    });
    expect(errorsOf(result)).toEqual([
      { field: 'model.inputShape', message: "The encoder takes images of 256×256×3 but the dataset's are 28×28×1" },
      {
        field: 'model.filters',
        message: `The built-in encoder's Conv2D 'enc_conv1': Outputs [256, 256, 256] (16,777,216 values per image); at most ${MAX_LAYER_OUTPUT_ELEMENTS.toLocaleString('en')}`,
      },
    ]);
  });

  it('refuses the audit’s pretrain (537M parameters) at the latent layer that passes MAX_MODEL_PARAMETERS', () => {
    const result = parseRunSpec({
      kind: 'pretrain',
      name: 'x',
      dataset: shapes64,
      model: { type: 'conv-autoencoder', inputShape: [64, 64, 3], filters: [256], latentDim: 1024 },
    });
    expect(errorsOf(result)).toEqual([
      {
        field: 'model.latentDim',
        message:
          "The built-in autoencoder's Dense 'latent': Brings the model to 268,443,648 parameters; no model may hold more than 100,000,000",
      },
    ]);
  });

  it('refuses a head that passes MAX_MODEL_PARAMETERS with the encoder, at model.headUnits', () => {
    const result = parseRunSpec({
      kind: 'finetune',
      name: 'x',
      dataset: { name: 'mnist' },
      model: { type: 'classifier', filters: [256], headUnits: 1950 },
    });
    // 3,213,888 in the encoder, 98,065,364 in the head (97,845,150 of them in its hidden layer): neither alone passes.
    expect(errorsOf(result)).toEqual([
      {
        field: 'model.headUnits',
        message: 'The model holds 101,279,252 parameters; no model may hold more than 100,000,000',
      },
    ]);
  });
});

describe('specTopologies and topologySizes count the built-in models', () => {
  it('counts a conv-autoencoder pretrain, its largest layer named by the field that sizes it', () => {
    const spec = parsed({
      kind: 'pretrain',
      name: 'x',
      dataset: shapes64,
      model: { type: 'conv-autoencoder', inputShape: [64, 64, 3], filters: [64], latentDim: 256 },
    });
    // conv 1,792; latent 65,536 × 256 + 256; dec_dense 256 × 65,536 + 65,536; deconv 36,928; reconstruction 1,731.
    expect(sizesOf(spec)).toEqual({
      parameters: 33_660_675,
      parts: [['built-in autoencoder', 33_660_675, 'model.latentDim', 'dec_dense']],
    });
  });

  it('counts a fresh encoder (latent included, whatever the cut) and the built-in head on its features', () => {
    const spec = parsed({
      kind: 'finetune',
      name: 'x',
      dataset: { name: 'mnist' },
      model: { type: 'classifier', filters: [256], headUnits: 1024 },
    });
    expect(sizesOf(spec)).toEqual({
      parameters: 2560 + 3_211_328 + 200_704 + 51_381_248 + 10_250,
      parts: [
        ['built-in encoder', 2560 + 3_211_328, 'model.latentDim', 'latent'],
        ['built-in head', 200_704 + 51_381_248 + 10_250, 'model.headUnits', 'head_hidden'],
      ],
    });
    const latent = parsed({
      kind: 'finetune',
      name: 'x',
      dataset: { name: 'synthetic-shapes', imageSize: 28 },
      model: { type: 'classifier', filters: [4], cutAt: 'latent', headNorm: 'none' },
    });
    // The softmax over 4 shapes on the 64-wide latent: sized by latentDim.
    expect(sizesOf(latent).parts[1]).toEqual(['built-in head', 64 * 4 + 4, 'model.latentDim', 'predictions']);
  });

  it('counts the built-in head on a base of the spec’s own layers, and a folder’s head with two classes', () => {
    const spec = parsed({
      kind: 'finetune',
      name: 'x',
      dataset: { name: 'image-folder', datasetId: '6f1c1a0e-2b7d-4c51-9a77-0d7f2f6f9d11', imageShape: [16, 16, 3] },
      model: {
        type: 'classifier',
        headNorm: 'none',
        layers: {
          base: {
            class_name: 'Sequential',
            config: {
              layers: [
                {
                  class_name: 'Conv2D',
                  config: { name: 'b', filters: 2, kernel_size: 1, batch_input_shape: [null, 16, 16, 3] },
                },
              ],
            },
          },
        },
      },
    });
    expect(sizesOf(spec).parts).toEqual([
      ['model.layers.base', 8, 'model.layers.base.config.layers.0', 'b'],
      ['built-in head', 16 * 16 * 2 * 2 + 2, 'model.layers.base', 'predictions'],
    ]);
  });

  it('leaves out what only the worker knows: a base from a run, the registry or an import, and the head on it', () => {
    for (const base of [
      { baseRunId: '6f1c1a0e-2b7d-4c51-9a77-0d7f2f6f9d11' },
      { baseModel: { name: 'flowers', version: 1 } },
      { importedModel: { uri: 's3://b/vgg/model.json' } },
    ]) {
      const spec = parsed({
        kind: 'finetune',
        name: 'x',
        dataset: { name: 'mnist' },
        model: { type: 'classifier', ...base },
      });
      expect(specTopologies(spec)).toEqual([]);
    }
  });

  it('keeps the specs the repository submits well under the default quota (10,000,000)', () => {
    const encoder = { inputShape: [28, 28, 1], filters: [16, 32], latentDim: 64 };
    const demo = [
      { kind: 'pretrain', name: 'p', dataset: { name: 'mnist' }, model: { type: 'conv-autoencoder', ...encoder } },
      {
        kind: 'finetune',
        name: 'f',
        dataset: { name: 'mnist' },
        model: { type: 'classifier', ...encoder, dropout: 0.2 },
      },
      { kind: 'finetune', name: 'f', dataset: { name: 'synthetic-shapes' } },
    ];
    for (const spec of demo) expect(sizesOf(parsed(spec)).parameters).toBeLessThan(250_000);
  });
});

describe("a fresh encoder's inputShape against the dataset's images", () => {
  const finetune = (model: Record<string, unknown>, dataset: object) =>
    parseRunSpec({ kind: 'finetune', name: 'x', dataset, model: { type: 'classifier', ...model } });
  const fields = (result: ReturnType<typeof parseRunSpec>) => errorsOf(result).map((e) => e.field);

  it('refuses one that contradicts the images, by dataset', () => {
    expect(fields(finetune({ inputShape: [16, 16, 1] }, { name: 'mnist' }))).toEqual(['model.inputShape']);
    expect(fields(finetune({ inputShape: [16, 16, 1] }, { name: 'synthetic-shapes', imageSize: 12 }))).toEqual([
      'model.inputShape',
    ]);
    expect(fields(finetune({ inputShape: [16, 16, 1] }, { name: 'synthetic-shapes', channels: 3 }))).toEqual([
      'model.inputShape',
    ]);
    const folder = { name: 'image-folder', datasetId: '6f1c1a0e-2b7d-4c51-9a77-0d7f2f6f9d11' };
    expect(fields(finetune({ inputShape: [32, 32, 3] }, folder))).toEqual(['model.inputShape']);
    expect(fields(finetune({ inputShape: [64, 64, 3] }, folder))).toEqual([]);
    expect(fields(finetune({ inputShape: [16, 16, 1] }, { name: 'synthetic-shapes' }))).toEqual([]);
  });

  it('holds nothing against the default, nor against a base that brings its own input', () => {
    expect(fields(finetune({}, { name: 'synthetic-shapes' }))).toEqual([]);
    expect(
      fields(
        finetune({ inputShape: [16, 16, 1], baseRunId: '6f1c1a0e-2b7d-4c51-9a77-0d7f2f6f9d11' }, { name: 'mnist' }),
      ),
    ).toEqual([]);
  });
});
