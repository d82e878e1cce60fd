import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { ClassifierSchema, FreezingSchema } from '@trainyard/contracts';
import { LocalObjectStore } from '@trainyard/storage';
import { cutModel, defaultCutLayer, encoderCutLayer, importedModelLocation, loadImportedBase } from './base-model';
import { buildClassifier } from './classifier.model';
import { buildConvAutoencoder } from './conv-autoencoder.model';
import { stageAt, stageLearningRate } from './freezing';
import { InvalidTrainingInputError } from './invalid-training-input.error';

describe('bases cut from other models', () => {
  it('cuts a Keras-style model below its dense top, and a Trainyard classifier below its own head', () => {
    const keras = tf.sequential({ name: 'vgg' });
    keras.add(tf.layers.conv2d({ name: 'block1_conv1', inputShape: [8, 8, 1], filters: 2, kernelSize: 3 }));
    keras.add(tf.layers.flatten({ name: 'flatten' }));
    keras.add(tf.layers.dense({ name: 'fc1', units: 4 }));
    keras.add(tf.layers.dropout({ name: 'drop', rate: 0.5 }));
    keras.add(tf.layers.dense({ name: 'predictions', units: 3, activation: 'softmax' }));
    expect(defaultCutLayer(keras)).toBe('flatten');
    expect(cutModel(keras, 'block1_conv1').outputs[0].shape).toEqual([null, 6, 6, 2]);
    expect(() => cutModel(keras, 'nope')).toThrow(/no layer 'nope' to cut at \(its layers: block1_conv1, flatten/);
    expect(() => cutModel(keras, 'predictions')).toThrow(/keeps a layer named 'predictions'/);

    const spec = ClassifierSchema.parse({
      type: 'classifier',
      inputShape: [8, 8, 1],
      filters: [2],
      latentDim: 3,
      headUnits: 4,
    });
    expect(defaultCutLayer(buildClassifier({ encoder: null, spec, numClasses: 2 }))).toBe('enc_pool1');
    expect(defaultCutLayer(buildClassifier({ encoder: null, spec: { ...spec, cutAt: 'latent' }, numClasses: 2 }))).toBe(
      'latent',
    );
  });

  it('cuts a Trainyard encoder after its convolutions or at its latent, and says when it has no such layer', () => {
    const { encoder } = buildConvAutoencoder({ inputShape: [8, 8, 1], filters: [2, 3], latentDim: 4 });
    expect(encoderCutLayer(encoder, 'conv')).toBe('enc_pool2');
    expect(cutModel(encoder, encoderCutLayer(encoder, 'conv')).outputs[0].shape).toEqual([null, 2, 2, 3]);
    expect(encoderCutLayer(encoder, 'latent')).toBe('latent');
    const keras = tf.sequential({
      name: 'vgg',
      layers: [tf.layers.conv2d({ name: 'block1_conv1', inputShape: [8, 8, 1], filters: 2, kernelSize: 3 })],
    });
    expect(() => encoderCutLayer(keras, 'conv', 'registered model m v1')).toThrow(
      'registered model m v1 has no convolutional block (enc_pool<n>) to cut after',
    );
  });

  it('flattens a convolutional cut before the head', () => {
    const conv = tf.sequential({
      layers: [tf.layers.conv2d({ name: 'c', inputShape: [8, 8, 1], filters: 2, kernelSize: 3 })],
    });
    const classifier = buildClassifier({
      encoder: conv,
      spec: ClassifierSchema.parse({ type: 'classifier' }),
      numClasses: 3,
    });
    expect(classifier.layers.map((l) => l.name)).toEqual(expect.arrayContaining(['head_flatten', 'predictions']));
    expect(classifier.outputs[0].shape).toEqual([null, 3]);
  });
});

describe('two-stage freezing', () => {
  const freezing = FreezingSchema.parse({ mode: 'two-stage', unfreezeAfterEpochs: 2 });
  it('switches at the start of epoch index unfreezeAfterEpochs, so a checkpoint at that boundary is still stage 1', () => {
    expect(stageAt(freezing, undefined)).toBe(1);
    expect(stageAt(freezing, { epoch: 2, nextBatch: 0 })).toBe(1);
    expect(stageAt(freezing, { epoch: 2, nextBatch: 1 })).toBe(2);
    expect(stageAt(freezing, { epoch: 3, nextBatch: 0 })).toBe(2);
    expect(stageAt({ ...freezing, mode: 'base' }, { epoch: 5, nextBatch: 0 })).toBe(1);
  });
  it('defaults the second learning rate to a tenth of the first', () => {
    const training = {
      epochs: 5,
      batchSize: 8,
      optimizer: 'adam',
      learningRate: 0.01,
      validationSplit: 0.1,
      seed: 1,
    } as const;
    expect(stageLearningRate(freezing, training, 1)).toBe(0.01);
    expect(stageLearningRate(freezing, training, 2)).toBeCloseTo(0.001);
    expect(stageLearningRate({ ...freezing, fineTuneLearningRate: 1e-5 }, training, 2)).toBe(1e-5);
  });
});

describe('imported models are read only from the configured bucket or under the worker’s roots', () => {
  let base: string;
  let root: string;
  let store: LocalObjectStore;
  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-imported-')));
    root = join(base, 'root');
    mkdirSync(join(root, 'vgg'), { recursive: true });
    mkdirSync(join(base, 'outside'));
    writeFileSync(join(root, 'vgg', 'model.json'), 'root:x:0:0:root:/root:/bin/bash\n');
    writeFileSync(join(base, 'outside', 'model.json'), '{}');
    store = new LocalObjectStore(join(base, 'objects'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('refuses a file outside the roots, another bucket and a key that climbs out of the store, naming the field', async () => {
    for (const uri of [
      join(base, 'outside', 'model.json'),
      `${root}/../outside/model.json`,
      's3://other/vgg/model.json',
      store.uri('../x/model.json'),
    ]) {
      const error = await importedModelLocation(uri, store, [root]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidTrainingInputError);
      expect((error as Error).message).toMatch(/^model\.importedModel\.uri /);
    }
    await expect(importedModelLocation(join(root, 'vgg', 'model.json'), store, [])).rejects.toThrow(
      /TRAINYARD_LOCAL_ROOTS/,
    );
    await expect(importedModelLocation(store.uri('imported/vgg/model.json'), store, [])).resolves.toEqual({
      kind: 'store',
      key: 'imported/vgg/model.json',
    });
    // Its last segment is exactly model.json: `runsmodel.json` would make runs/ the weights' folder.
    await expect(importedModelLocation(store.uri('runsmodel.json'), store, [])).rejects.toThrow(
      'model.importedModel.uri does not name a file called model.json (expected …/model.json)',
    );
  });

  it('says a model.json is not JSON without quoting its bytes', async () => {
    const error = await loadImportedBase({ uri: pathToFileURL(join(root, 'vgg', 'model.json')).href }, store, [
      root,
    ]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/model\.json is not valid JSON/);
    expect((error as Error).message).not.toMatch(/root:x|bin\/bash/);
  });
});
