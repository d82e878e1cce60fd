import * as tf from '@tensorflow/tfjs';
import {
  inferTopology,
  LayersTopologySchema,
  parseRunSpec,
  PretrainSpecSchema,
  type FinetuneSpec,
} from '@trainyard/contracts';
import { loadDataset } from '@trainyard/datasets';
import { filesToModelArtifacts } from '@trainyard/storage';
import { defaultCutLayer } from './base-model';
import { buildClassifier } from './classifier.model';
import { baseLayers } from './freezing';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { buildLayersAutoencoder, buildLayersBase, buildLayersHead, LAYERS_ENCODER } from './layers.model';
import { runPretrain } from './pretrain';
import { recordingHooks } from './recording-hooks.testing';
import type { TrainingCheckpoint } from './training-hooks';
import { parseTrainingState } from './training-state';

/** Every supported layer class, as tfjs itself builds and serializes them. */
function everyLayerModel(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.inputLayer({ inputShape: [28, 28, 1], name: 'in' }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, name: 'c2' }),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'p1' }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same', name: 'p2' }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'valid', name: 't1' }),
      tf.layers.upSampling2d({ size: [2, 2], name: 'u1' }),
      tf.layers.zeroPadding2d({ padding: 1, name: 'z1' }),
      tf.layers.cropping2D({
        cropping: [
          [1, 2],
          [0, 1],
        ],
        name: 'cr',
      }),
      tf.layers.activation({ activation: 'hardSigmoid', name: 'a1' }),
      tf.layers.dropout({ rate: 0.2, name: 'dr' }),
      tf.layers.globalAveragePooling2d({ name: 'g' }),
      tf.layers.reshape({ targetShape: [2, 1], name: 'r' }),
      tf.layers.flatten({ name: 'f' }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelRegularizer: tf.regularizers.l2(), name: 'o' }),
    ],
  });
}

describe('topologies as tfjs writes them', () => {
  afterEach(() => tf.disposeVariables());

  it("are accepted by the contracts, whose shapes and parameter counts are tfjs's own", () => {
    const model = everyLayerModel();
    const parsed = LayersTopologySchema.safeParse(model.toJSON(null, false));
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    const inferred = inferTopology(parsed.data!);
    if (!inferred.ok) throw new Error(inferred.problem.message);
    expect(inferred.inferred.parameters).toBe(model.countParams());
    const tfShapes = model.layers.map((l) => (l.outputShape as number[]).slice(1));
    expect(inferred.inferred.layers.map((l) => l.outputShape)).toEqual(tfShapes);
    model.dispose();
  });

  it('build an autoencoder whose encoder shares its layers, seeded like the built-in models', async () => {
    const spec = parseRunSpec({
      kind: 'pretrain',
      name: 'own',
      dataset: { name: 'synthetic-shapes', imageSize: 16 },
      model: {
        type: 'layers-autoencoder',
        loss: 'binaryCrossentropy',
        encoder: tf
          .sequential({
            layers: [
              tf.layers.conv2d({ inputShape: [16, 16, 1], filters: 4, kernelSize: 3, padding: 'same', name: 'e1' }),
              tf.layers.maxPooling2d({ poolSize: 2, name: 'e2' }),
            ],
          })
          .toJSON(null, false),
        decoder: tf
          .sequential({
            layers: [
              tf.layers.upSampling2d({ inputShape: [8, 8, 4], size: [2, 2], name: 'd1' }),
              tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', activation: 'sigmoid', name: 'd2' }),
            ],
          })
          .toJSON(null, false),
      },
    });
    if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
    if (spec.spec.kind !== 'pretrain' || spec.spec.model.type !== 'layers-autoencoder')
      throw new Error('not a layers autoencoder');
    const a = await buildLayersAutoencoder(spec.spec.model, 7);
    const b = await buildLayersAutoencoder(spec.spec.model, 7);
    expect(a.autoencoder.outputs[0]!.shape).toEqual([null, 16, 16, 1]);
    expect(a.encoder.name).toBe(LAYERS_ENCODER);
    expect(a.encoder.outputs[0]!.shape).toEqual([null, 8, 8, 4]);
    expect(a.encoder.layers.find((l) => l.name === 'e1')).toBe(a.autoencoder.layers.find((l) => l.name === 'e1'));
    const kernel = (m: tf.LayersModel) => m.getLayer('e1').getWeights()[0]!.dataSync();
    expect(Array.from(kernel(a.autoencoder))).toEqual(Array.from(kernel(b.autoencoder)));
  });

  it('build a classifier of its own base and head, the head told from the base', async () => {
    const base = LayersTopologySchema.parse(
      tf
        .sequential({
          layers: [tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 2, kernelSize: 3, strides: 2, name: 'b1' })],
        })
        .toJSON(null, false),
    );
    const headTopology = LayersTopologySchema.parse({
      class_name: 'Sequential',
      config: {
        layers: [
          { class_name: 'Flatten', config: { name: 'f' } },
          { class_name: 'Dense', config: { name: 'o', units: 10, activation: 'softmax' } },
        ],
      },
    });
    const built = await buildLayersBase(base, 1);
    const head = await buildLayersHead(headTopology, [13, 13, 2], 10, 1);
    const parsed = parseRunSpec({
      kind: 'finetune',
      name: 'x',
      dataset: { name: 'mnist' },
      model: { type: 'classifier', layers: { base, head: headTopology } },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const classifier = buildClassifier({
      encoder: built,
      spec: (parsed.spec as FinetuneSpec).model,
      numClasses: 10,
      head,
    });
    expect(classifier.outputs[0]!.shape).toEqual([null, 10]);
    expect(classifier.layers.map((l) => l.name)).toEqual(['b1_input', 'b1', 'head_l1_f', 'head_l2_o']);
    expect(defaultCutLayer(classifier)).toBe('b1');
    expect(baseLayers(classifier).map((l) => l.name)).toEqual(['b1']);
    await expect(buildLayersHead(headTopology, [13, 13, 2], 4)).rejects.toThrow(/4 classes/);
  });
});

describe('a layers head sized for the features it is fed', () => {
  const head = (...layers: object[]) => LayersTopologySchema.parse({ class_name: 'Sequential', config: { layers } });

  it('refuses a layer past the output cap for good, naming it, before building anything', async () => {
    // Fine on its own (no declared input), 8,388,608 values per image on a [32, 32, 32] base.
    const topology = head(
      { class_name: 'UpSampling2D', config: { name: 'up', size: [16, 16] } },
      { class_name: 'Flatten', config: { name: 'f' } },
      { class_name: 'Dense', config: { name: 'o', units: 4, activation: 'softmax' } },
    );
    const tensors = tf.memory().numTensors;
    const started = performance.now();
    const built = buildLayersHead(topology, [32, 32, 32], 4, 1);
    await expect(built).rejects.toThrow(InvalidTrainingInputError);
    await expect(built).rejects.toThrow(
      "model.layers.head.config.layers.0: UpSampling2D 'up': Outputs [512, 512, 32] (8,388,608 values per image); at most 4,194,304 (the head is fed the base's features [32, 32, 32])",
    );
    expect(performance.now() - started).toBeLessThan(100);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it("names a head's input that does not meet the base's features", async () => {
    const topology = head({
      class_name: 'Dense',
      config: { name: 'o', units: 4, activation: 'softmax', batch_input_shape: [null, 5] },
    });
    await expect(buildLayersHead(topology, [8], 4)).rejects.toThrow(
      /^model\.layers\.head\.config\.layers\.0\.config\.batch_input_shape: Dense 'o': Declares input \[5\] but receives \[8\]/,
    );
  });
});

describe('a layers autoencoder in training', () => {
  const spec = PretrainSpecSchema.parse({
    kind: 'pretrain',
    name: 'own, resumed',
    dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 8, testPerClass: 2 },
    model: {
      type: 'layers-autoencoder',
      encoder: {
        class_name: 'Sequential',
        config: {
          layers: [
            {
              class_name: 'Conv2D',
              config: {
                name: 'e1',
                filters: 4,
                kernel_size: [3, 3],
                padding: 'same',
                activation: 'relu',
                batch_input_shape: [null, 16, 16, 1],
              },
            },
            { class_name: 'MaxPooling2D', config: { name: 'e2', pool_size: [2, 2] } },
          ],
        },
      },
      decoder: {
        class_name: 'Sequential',
        config: {
          layers: [
            { class_name: 'UpSampling2D', config: { name: 'd1', size: [2, 2] } },
            {
              class_name: 'Conv2D',
              config: { name: 'd2', filters: 1, kernel_size: [3, 3], padding: 'same', activation: 'sigmoid' },
            },
          ],
        },
      },
    },
    training: { epochs: 2, batchSize: 4, learningRate: 0.01, validationSplit: 0.25, seed: 5 },
  });
  const data = loadDataset(spec.dataset, { seed: 5, labeled: false });
  const weights = (c: TrainingCheckpoint) => {
    const artifacts = filesToModelArtifacts('autoencoder', c.files);
    const tensors = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    const out = artifacts.weightSpecs!.filter((w) => !w.group).map((w) => Array.from(tensors[w.name]!.dataSync()));
    tf.dispose(Object.values(tensors));
    return out.flat();
  };

  it('checkpoints its encoder whole and resumes to the same weights', async () => {
    const full = recordingHooks();
    expect((await runPretrain(data, spec, full)).status).toBe('completed');
    const first = full.checkpoints[0]!;
    expect(JSON.parse(new TextDecoder().decode(first.files['encoder/model.json']))).toMatchObject({
      modelTopology: { config: { name: LAYERS_ENCODER } },
    });
    const state = parseTrainingState(first.files['state.json']!);
    const resumed = recordingHooks({ earlier: full });
    const outcome = await runPretrain(data, spec, resumed, {
      resume: { ...state, sequence: first.sequence, files: first.files },
    });
    expect(outcome.status).toBe('completed');
    const a = weights(full.checkpoints.at(-1)!);
    const b = weights(resumed.checkpoints.at(-1)!);
    expect(a.length).toBe(4 * 9 + 4 + 4 * 9 + 1);
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeLessThan(1e-4);
  });
});
