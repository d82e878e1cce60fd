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
  trainingMemoryOnBase,
  trainingMemoryOnPretrain,
} from '@trainyard/contracts';
import { cutModel, encoderCutLayer } from './base-model';
import { buildClassifier } from './classifier.model';
import { buildConvAutoencoder, buildEncoder } from './conv-autoencoder.model';
import { buildLayersAutoencoder, buildLayersBase, buildLayersHead } from './layers.model';

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

  describe('a fine-tune on a base the worker loads: the estimate counts the layers it builds', () => {
    /** A topology of `layers` as tfjs writes one (what a spec brings). */
    const topology = (layers: tf.layers.Layer[]) =>
      LayersTopologySchema.parse(tf.sequential({ layers }).toJSON(null, false));
    /**
     * What the worker holds and trains: the parameters of every layer it loaded or built (the
     * loaded base's whole model, the cut leaves them held), and one image's values across the
     * classifier it trains (its input, each layer's output, batch norm's three times).
     */
    function heldAndTrained(loaded: tf.LayersModel, classifier: tf.LayersModel) {
      const layers = new Set([...loaded.layers, ...classifier.layers]);
      const parameters = [...layers].reduce((sum, l) => sum + l.countParams(), 0);
      const values = (shape: tf.Shape) => (shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
      let activations = values(classifier.inputs[0]!.shape);
      for (const l of classifier.layers)
        if (l.getClassName() !== 'InputLayer')
          activations += values(l.outputShape as tf.Shape) * (l.getClassName() === 'BatchNormalization' ? 3 : 1);
      return { parameters, activations };
    }
    const estimated = (spec: FinetuneSpec, base: PretrainSpec | FinetuneSpec) => {
      const memory = trainingMemoryOnBase(spec, base);
      if (!memory) throw new Error('no estimate');
      return { parameters: memory.footprint.parameters, activations: memory.footprint.activationsPerImage };
    };
    const finetune = (model: object) =>
      parsed<'finetune'>({
        kind: 'finetune',
        name: 'ft',
        dataset: { name: 'mnist' },
        model: { type: 'classifier', baseModel: { name: 'm', version: 1 }, ...model },
      });
    /** The classifier the worker trains on `base`: the spec's own head (built for the base's features), or the built-in one. */
    async function classifierOn(base: tf.LayersModel, spec: FinetuneSpec): Promise<tf.LayersModel> {
      const own = spec.model.layers?.head;
      const features = base.outputs[0]!.shape.slice(1) as number[];
      const head = own ? await buildLayersHead(own, features, 10) : undefined;
      return buildClassifier({ encoder: base, spec: spec.model, numClasses: 10, ...(head ? { head } : {}) });
    }
    // A head declares no input: it is fed the base's features.
    const ownHead = (flatten: boolean) =>
      LayersTopologySchema.parse({
        class_name: 'Sequential',
        config: {
          layers: [
            ...(flatten ? [{ class_name: 'Flatten', config: { name: 'flat' } }] : []),
            { class_name: 'Dense', config: { name: 'out', units: 10, activation: 'softmax' } },
          ],
        },
      });

    it.each([
      [{ headUnits: 12, dropout: 0.2 }],
      [{ headNorm: 'none' }],
      [{ freezing: { mode: 'base' } }],
      [{ layers: 'own head' }],
    ] as const)("on a layers-autoencoder pretrain's encoder, used whole: %j", async (model) => {
      const pretrain = parsed<'pretrain'>({
        kind: 'pretrain',
        name: 'ae',
        dataset: { name: 'mnist' },
        model: {
          type: 'layers-autoencoder',
          encoder: topology([
            tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, strides: 2, name: 'e1' }),
            tf.layers.batchNormalization({ name: 'e2' }),
            tf.layers.flatten({ name: 'e3' }),
            tf.layers.dense({ units: 6, name: 'e4' }),
          ]),
          decoder: topology([
            tf.layers.dense({ inputShape: [6], units: 784, activation: 'sigmoid', name: 'd1' }),
            tf.layers.reshape({ targetShape: [28, 28, 1], name: 'd2' }),
          ]),
        },
      }) as PretrainSpec;
      if (pretrain.model.type !== 'layers-autoencoder') throw new Error('not a layers-autoencoder');
      const head = 'layers' in model ? { layers: { head: ownHead(false) } } : model;
      const spec = finetune({ baseModel: undefined, baseRunId: '6f1c1a0e-2b7d-4c51-9a77-0d7f2f6f9d11', ...head });
      // The checkpoint's encoder, used whole (run-training-job.ts's loadBase: no cutAt).
      const { encoder } = await buildLayersAutoencoder(pretrain.model);
      const classifier = await classifierOn(encoder, spec);
      expect(estimated(spec, pretrain)).toEqual(heldAndTrained(encoder, classifier));
      expect(trainingMemoryOnBase(finetune({ cutAt: 'conv' }), pretrain)).toBeNull();
    });

    it.each([
      [{}, {}],
      [{ cutAt: 'latent', latentDim: 8, headUnits: 16 }, {}],
      [
        { cutAt: 'latent', latentDim: 8 },
        { cutAt: 'conv', headUnits: 5 },
      ],
      [
        { cutAt: 'latent', filters: [3, 5, 7] },
        { cutAt: 'latent', dropout: 0.3 },
      ],
      [
        { filters: [4], headNorm: 'none', dropout: 0.5 },
        { cutAt: 'conv', freezing: { mode: 'base' } },
      ],
      [{ filters: [4], layers: 'own head' }, { layers: 'own head' }],
      [{ layers: 'own base' }, { headUnits: 7 }],
    ] as const)(
      'on a registered fine-tune from scratch %j, cut as the worker cuts it: %j',
      async (trainedModel, model) => {
        const ownBase = () =>
          topology([
            tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 3, kernelSize: 5, strides: 3, name: 'b1' }),
            tf.layers.maxPooling2d({ poolSize: 2, name: 'b2' }),
          ]);
        const layersOf = (m: object) =>
          'layers' in m ? { layers: m.layers === 'own base' ? { base: ownBase() } : { head: ownHead(true) } } : {};
        const { layers: _t, ...trainedFields } = trainedModel as { layers?: string };
        const { layers: _f, ...fields } = model as { layers?: string };
        const trained = parsed<'finetune'>({
          kind: 'finetune',
          name: 'registered',
          dataset: { name: 'mnist' },
          model: { type: 'classifier', ...trainedFields, ...layersOf(trainedModel) },
        });
        const spec = finetune({ ...fields, ...layersOf(model) });
        // Its checkpoint's classifier (as it trained it), cut as loadBase cuts it: below its head, or at cutAt.
        const own = trained.model.layers?.base;
        const trainedBase = own ? await buildLayersBase(own) : null;
        const registered = await classifierOn(trainedBase ?? buildEncoderCut(trained), trained);
        const cutAt = spec.model.cutAt;
        const base = cutModel(registered, cutAt ? encoderCutLayer(registered, cutAt) : undefined);
        const classifier = await classifierOn(base, spec);
        // Their layers are shared: the variables go in afterEach.
        expect(estimated(spec, trained)).toEqual(heldAndTrained(registered, classifier));
      },
    );

    /** A fine-tune's fresh encoder, cut at its cutAt (buildClassifier's own, when given no base). */
    function buildEncoderCut(spec: FinetuneSpec): tf.LayersModel {
      const encoder = buildEncoder(spec.model);
      return spec.model.cutAt === 'latent' ? encoder : cutModel(encoder, encoderCutLayer(encoder, 'conv'));
    }

    it('has none where the worker would not find the cut, or the base is itself on a base', () => {
      const trained = parsed<'finetune'>({
        kind: 'finetune',
        name: 'registered',
        dataset: { name: 'mnist' },
        model: { type: 'classifier' },
      });
      expect(trainingMemoryOnBase(finetune({ cutAt: 'latent' }), trained)).toBeNull();
      const onBase = { ...trained, model: { ...trained.model, baseModel: { name: 'n', version: 2 } } };
      expect(trainingMemoryOnBase(finetune({}), onBase)).toBeNull();
    });
  });
});
