import * as tf from '@tensorflow/tfjs';
import {
  builtInParts,
  type FinetuneSpec,
  inferTopology,
  type InferredLayer,
  LayersTopologySchema,
  parseRunSpec,
  type PretrainSpec,
  type RunSpec,
  type RunSpecInput,
  trainingMemory,
  trainingMemoryOnPretrain,
} from '@trainyard/contracts';
import { cutModel, encoderCutLayer } from './base-model';
import { buildClassifier } from './classifier.model';
import { buildConvAutoencoder, buildEncoder } from './conv-autoencoder.model';
import { buildLayersBase } from './layers.model';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => tf.disposeVariables());

function parsed<K extends RunSpec['kind']>(input: RunSpecInput): Extract<RunSpec, { kind: K }> {
  const result = parseRunSpec(input);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.spec as Extract<RunSpec, { kind: K }>;
}

/** Each layer of the contracts' built-in parts, by name, with what the contracts infer for it. */
function inferredLayers(spec: RunSpec): Map<string, InferredLayer> {
  const layers = new Map<string, InferredLayer>();
  for (const part of builtInParts(spec)) {
    const result = inferTopology(part.topology, part.input);
    if (!result.ok) throw new Error(result.problem.message);
    for (const layer of result.inferred.layers) layers.set(layer.name, layer);
  }
  return layers;
}

/** What tfjs built, layer by layer: output shape per image and parameters held. */
const builtLayers = (models: tf.LayersModel[]) =>
  new Map(
    models
      .flatMap((m) => m.layers)
      .map((l) => [l.name, { outputShape: (l.outputShape as number[]).slice(1), parameters: l.countParams() }]),
  );
const view = (layers: Map<string, { outputShape: number[]; parameters: number }>) =>
  Object.fromEntries([...layers].map(([name, l]) => [name, { outputShape: l.outputShape, parameters: l.parameters }]));
const total = (layers: Map<string, { parameters: number }>) =>
  [...layers.values()].reduce((s, l) => s + l.parameters, 0);

/** A dataset of images of `shape` (an image folder's classes are only known from the folder: the contracts count two). */
const imagesOf = (shape: readonly [number, number, 1 | 3]) => ({
  name: 'image-folder' as const,
  datasetId: '6f1c1a0e-2b7d-4c51-9a77-0d7f2f6f9d11',
  imageShape: [...shape] as [number, number, 1 | 3],
});

describe("the contracts' built-in models are the ones libs/training builds", () => {
  it.each([
    [[28, 28, 1], [16, 32], 64, 'relu'],
    [[13, 10, 3], [2, 2], 4, 'relu'],
    [[17, 31, 1], [3], 5, 'linear'],
    [[64, 64, 3], [8, 16, 8], 32, 'relu'],
    [[9, 9, 1], [4, 4, 4, 4], 2, 'linear'],
  ] as const)('conv-autoencoder %j, filters %j, latent %d (%s)', (inputShape, filters, latentDim, latentActivation) => {
    const spec = parsed<'pretrain'>({
      kind: 'pretrain',
      name: 'ae',
      dataset: imagesOf(inputShape),
      model: {
        type: 'conv-autoencoder',
        inputShape: [...inputShape],
        filters: [...filters],
        latentDim,
        latentActivation,
      },
    }) as PretrainSpec & { model: { type: 'conv-autoencoder' } };
    const { autoencoder } = buildConvAutoencoder(spec.model);
    const built = builtLayers([autoencoder]);
    const inferred = inferredLayers(spec);
    expect(view(inferred)).toEqual(view(built));
    expect(total(inferred)).toBe(autoencoder.countParams());
    autoencoder.dispose();
  });

  it.each([
    [{ inputShape: [28, 28, 1], filters: [16, 32] }],
    [{ inputShape: [16, 16, 3], filters: [4], latentDim: 5, headUnits: 6, dropout: 0.3 }],
    [{ inputShape: [13, 10, 3], filters: [2, 3], cutAt: 'latent', headNorm: 'none' }],
    [{ inputShape: [28, 28, 1], filters: [8, 8, 8], latentDim: 16, cutAt: 'latent', headUnits: 32 }],
    [{ inputShape: [28, 28, 1], filters: [3], headNorm: 'none', dropout: 0.5 }],
  ] as const)('classifier from scratch %j', (model) => {
    const mnist = model.inputShape.join('x') === '28x28x1';
    const spec = parsed<'finetune'>({
      kind: 'finetune',
      name: 'ft',
      dataset: mnist ? { name: 'mnist' } : imagesOf(model.inputShape),
      model: { type: 'classifier', ...model, inputShape: [...model.inputShape], filters: [...model.filters] },
    });
    const classes = mnist ? 10 : 2;
    const classifier = buildClassifier({ encoder: null, spec: spec.model, numClasses: classes });
    // The fresh encoder is built whole and then cut: its latent layer is held either way.
    const encoder = buildEncoder(spec.model);
    const built = builtLayers([encoder, classifier]);
    const inferred = inferredLayers(spec);
    expect(view(inferred)).toEqual(view(built));
    const cutAway = spec.model.cutAt === 'latent' ? 0 : encoder.getLayer('latent').countParams();
    expect(total(inferred)).toBe(classifier.countParams() + cutAway);
    classifier.dispose();
    encoder.dispose();
  });

  // trainingMemoryOnPretrain sizes a fine-tune on a built-in pretrain's encoder as the fine-tune from
  // scratch with the same encoder fields: the worker's model (the pretrain's encoder, cut at cutAt,
  // under the head) must be that one, layer by layer.
  it.each([
    [{}, { inputShape: [28, 28, 1], filters: [16, 32], latentDim: 64 }],
    [
      { cutAt: 'latent', headUnits: 6 },
      { inputShape: [16, 16, 3], filters: [4, 8], latentDim: 5 },
    ],
    [
      { headNorm: 'none', dropout: 0.2 },
      { inputShape: [13, 10, 3], filters: [2], latentDim: 4, latentActivation: 'linear' },
    ],
  ] as const)('classifier %j on a pretrain %j: the one from scratch with its encoder fields', (head, encoderFields) => {
    const shape = encoderFields.inputShape;
    const mnist = shape.join('x') === '28x28x1';
    const pretrain = parsed<'pretrain'>({
      kind: 'pretrain',
      name: 'ae',
      dataset: mnist ? { name: 'mnist' } : imagesOf(shape),
      model: {
        type: 'conv-autoencoder',
        ...encoderFields,
        inputShape: [...shape],
        filters: [...encoderFields.filters],
      },
    }) as PretrainSpec & { model: { type: 'conv-autoencoder' } };
    const finetune = (model: object) =>
      parsed<'finetune'>({
        kind: 'finetune',
        name: 'ft',
        dataset: mnist ? { name: 'mnist' } : imagesOf(shape),
        model: { type: 'classifier', ...head, ...model },
      });
    const step = finetune({});
    const scratch = finetune({ ...encoderFields, inputShape: [...shape], filters: [...encoderFields.filters] });
    expect(trainingMemoryOnPretrain(step, pretrain)).toEqual(trainingMemory(scratch));
    // What the worker builds: the pretrain's encoder (as its checkpoint holds it) cut at cutAt, under the head.
    const { encoder } = buildConvAutoencoder(pretrain.model);
    const cut = cutModel(encoder, encoderCutLayer(encoder, step.model.cutAt ?? 'conv'));
    const classifier = buildClassifier({ encoder: cut, spec: step.model, numClasses: mnist ? 10 : 2 });
    expect(view(inferredLayers(scratch))).toEqual(view(builtLayers([encoder, classifier])));
    // Its layers are the encoder's: the variables go in afterEach.
    classifier.dispose();
  });

  it("puts the built-in head on a base of the spec's own layers as the classifier does", async () => {
    const base = LayersTopologySchema.parse(
      tf
        .sequential({
          layers: [tf.layers.conv2d({ inputShape: [16, 16, 1], filters: 3, kernelSize: 3, strides: 2, name: 'b1' })],
        })
        .toJSON(null, false),
    );
    const spec = parsed<'finetune'>({
      kind: 'finetune',
      name: 'ft',
      dataset: { name: 'synthetic-shapes', imageSize: 16 },
      model: { type: 'classifier', headUnits: 5, dropout: 0.1, layers: { base } },
    }) as FinetuneSpec;
    const classifier = buildClassifier({
      encoder: await buildLayersBase(base),
      spec: spec.model,
      numClasses: 4,
    });
    const built = builtLayers([classifier]);
    built.delete('b1'); // the spec's own layer, counted as its topology (layers.model.spec.ts)
    built.delete(classifier.layers[0]!.name); // its input layer
    expect(view(inferredLayers(spec))).toEqual(view(built));
    classifier.dispose();
  });
});
